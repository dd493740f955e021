"""`fasterpy doctor`: one table of what this machine offers FasterPy (graph.doctor's checks) and
what to do where something is missing; exit code 1 when the current config needs what is missing."""

from __future__ import annotations

from pathlib import Path

import typer

_STYLE = {"ok": "green", "warn": "yellow", "missing": "yellow", "error": "red"}


def doctor_command(
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON instead of a table."),
    config_file: Path | None = typer.Option(None, "--config", help="Settings file (default: nearest fasterpy.toml / pyproject.toml)."),
) -> None:
    """Check Python, sandbox layers, llama.cpp, models, the KB and a GPU; exit 1 if settings need what is missing."""
    from graph.config import FasterPyConfig
    from graph.doctor import exit_code, run_checks
    from harness.errors import FasterPyError

    if config_file is not None and not config_file.is_file():
        raise FasterPyError(f"settings file {config_file} does not exist — check the --config path")
    config = FasterPyConfig.load(config_file)
    checks = run_checks(config)
    code = exit_code(checks)
    if as_json:
        import json

        typer.echo(json.dumps({"config": config.source, "exit_code": code,
                               "checks": [c.to_dict() for c in checks]}, indent=2))
        raise typer.Exit(code)

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"fasterpy doctor (settings: {config.source})")
    for col in ("check", "status", "detail", "what to do"):
        table.add_column(col, overflow="fold")
    for c in checks:
        status = Text(c.status + (" (needed)" if c.failed else ""), style=_STYLE[c.status])
        table.add_row(Text(c.name), status, Text(c.detail), Text(c.fix))  # Text: no markup in "[llamacpp]"
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)
    if code:
        console.print(Text("something your settings need is missing: see the rows marked (needed)", style="red"))
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
