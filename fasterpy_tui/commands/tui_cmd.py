"""`fasterpy tui [FILE]` — also installed as `fasterpy-tui [FILE]`, the same command (see
fasterpy_tui.cli.tui_main). Textual is imported only when the app starts, so `--help` is fast."""

from __future__ import annotations

from pathlib import Path

import typer

from fasterpy_tui.options import BUDGET_OPT


def tui_command(
    file: Path | None = typer.Argument(None, metavar="FILE", help="Python file to optimize (a file picker opens without it)."),
    targets: list[str] = typer.Option([], "--function", "-f", help="Preselect a target (repeatable)."),
    config: Path | None = typer.Option(
        None, "--config",
        help="Settings file to read and to save the settings screen to (default: the nearest fasterpy.toml "
        "or pyproject.toml \\[tool.fasterpy]; saving then writes fasterpy.toml beside the file).",
    ),
    light: bool = typer.Option(False, "--light", help="Start in the light theme."),
    budget: float | None = BUDGET_OPT,
) -> None:
    """Pick functions, watch the verify loop, inspect suggestions and accept diffs by keyboard."""
    from harness.errors import FasterPyError

    if file is not None and not file.is_file():
        raise FasterPyError(f"{file} does not exist — pass a Python source file")
    from fasterpy_tui.app import FasterPyApp

    app = FasterPyApp(file, targets, config_path=config, theme="textual-light" if light else None,
                      overrides={"budget_s": budget})
    raise typer.Exit(app.run() or 0)


def register(app: typer.Typer) -> None:
    app.command("tui")(tui_command)
