"""`fasterpy profile`: run a driver under cProfile and list the project's functions by measured time
(graph.profile). Exit codes: 0 listed, 2 error (one line on stderr)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from fasterpy_tui.commands.optimize_cmd import _fmt_seconds as format_seconds


def profile_command(
    file: Path | None = typer.Argument(None, help="Run this file's __main__ block (without --driver); its folder names the project."),
    driver: str | None = typer.Option(None, "--driver", help="Command line to profile, e.g. \"pytest tests/\" or \"python bench.py\"."),
    top: int = typer.Option(20, "--top", help="List the N hottest functions (0: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print the timings as JSON on stdout."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds the driver may run."),
) -> None:
    """Run the driver under a profiler; list the project's own functions by measured time."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from graph.profile import profile_driver
    from harness.errors import FasterPyError

    if top < 0:
        raise FasterPyError(f"--top {top} is negative — give how many functions to list (0 for all)")
    if file is None and driver is None:
        raise FasterPyError("nothing to profile — give --driver \"pytest tests/\" (or \"python script.py\"), "
                            "or a FILE whose __main__ block runs the code")
    timings = profile_driver(driver, file, timeout_s=timeout)
    shown = timings[:top] if top else timings
    if as_json:
        rows: list[dict[str, Any]] = [dataclasses.asdict(t) for t in shown]
        sys.stdout.write(json.dumps({"driver": driver, "file": str(file) if file else None,
                                     "functions": rows}, indent=2) + "\n")
        return
    console = Console()
    table = Table(title=f"Hottest functions ({len(shown)} of {len(timings)}) under "
                        f"{escape(driver or f'the __main__ block of {file}')}", title_justify="left")
    for col, right in (("#", True), ("function", False), ("file:line", False), ("cumulative", True),
                       ("self", True), ("calls", True), ("share", True)):
        table.add_column(col, justify="right" if right else "left")
    for i, t in enumerate(shown, 1):
        where = os.path.relpath(t.path) if not os.path.relpath(t.path).startswith("..") else t.path
        table.add_row(str(i), escape(t.qualname), escape(f"{where}:{t.line}"), format_seconds(t.cum_s),
                      format_seconds(t.self_s), str(t.calls), f"{t.share:.1%}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("profile")(profile_command)
