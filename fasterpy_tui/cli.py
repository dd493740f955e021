"""The `fasterpy` command: a thin typer layer over the library. Each command group lives in
fasterpy_tui/commands/ and imports heavy libraries only inside its functions, so `--help` is fast.
`fasterpy-tui` (tui_main) is the `fasterpy tui` command run as a program of its own."""

from __future__ import annotations

import sys

import typer

from fasterpy_tui.commands import COMMAND_MODULES

app = typer.Typer(
    name="fasterpy",
    help="Make Python code faster with LLMs, retrieved optimizations and a verifying sandbox.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from fasterpy_tui import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print FasterPy's version and exit."),
) -> None:
    """Make Python code faster with LLMs, retrieved optimizations and a verifying sandbox."""


for _module in COMMAND_MODULES:
    _module.register(app)


@app.command()
def version() -> None:
    """Print FasterPy's version (the same as `fasterpy --version`)."""
    from fasterpy_tui import __version__

    typer.echo(__version__)


def _run(program: typer.Typer) -> None:
    """User errors become one line on stderr and exit code 2."""
    from harness.errors import FasterPyError

    try:
        program()
    except FasterPyError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


def main() -> None:
    """Entry point of `fasterpy`."""
    _run(app)


def tui_main() -> None:
    """Entry point of `fasterpy-tui`: the `tui` command alone (a one-command typer app runs it
    without a subcommand name)."""
    from fasterpy_tui.commands import tui_cmd

    tui_app = typer.Typer(name="fasterpy-tui", pretty_exceptions_enable=False, add_completion=False)
    tui_app.command()(tui_cmd.tui_command)
    _run(tui_app)


if __name__ == "__main__":
    main()
