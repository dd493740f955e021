"""`fasterpy examples [DIR]`: copy the shipped example programs out of the installed package, so a
`pip install`ed FasterPy can follow the README's examples (and `--write` changes a copy, never the
installed files)."""

from __future__ import annotations

from pathlib import Path

import typer


def examples_command(
    dest: Path = typer.Argument(Path("fasterpy-examples"), help="Directory to create with the examples."),
) -> None:
    """Copy the example programs (function mode, program mode with tests, a method with its own
    pytest tests) into DIR and print where they are."""
    import shutil

    from harness.errors import FasterPyError
    from kb.paths import data_dir, examples_dir

    if dest.exists():
        raise FasterPyError(f"{dest} already exists — name a new directory: fasterpy examples DIR")
    shutil.copytree(examples_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.bak"))
    typer.echo(f"copied the examples to {dest.resolve()} — try: fasterpy optimize {dest / 'slow_stats.py'} -f pairwise_close")
    typer.echo(f"the rest of the shipped data (knowledge base, PIE sample, adapter) is read in place from {data_dir()}")


def register(app: typer.Typer) -> None:
    app.command("examples")(examples_command)
