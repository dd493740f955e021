"""How responsive is fasterpy-tui? Three figures, each next to a baseline measured in the same run.

1. Time to first paint: `fasterpy-tui FILE` in a real terminal (tmux, 80×24) until the function
   list is on screen, vs a bare Textual app that paints one line (Textual's own floor).
2. "Run" → the verified diff on screen (ctrl+r until the diff view holds the candidate's hunks; the
   diff appears when the run ends), with the rules backend on the example file (two targets, one
   attempt each), vs calling `graph.api.optimize` directly with the same settings in the same
   process (the pipeline's own time; the difference is what the UI adds). Interleaved repeats.
3. Key-press handling latency (pilot press → handled and the screen idle again) while a run is in
   progress vs the same app idle.

    .venv/bin/python benchmarks/tui_latency.py [--repeats 3] [--keys 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "examples" / "slow_stats.py"
TUI = Path(sys.executable).parent / "fasterpy-tui"
TARGETS = ["pairwise_close", "running_means"]
BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("Functions")
Bare().run()
"""


def tmux(*args: str) -> str:
    for _attempt in range(3):  # a tmux server that is just exiting refuses one command: retry
        out = subprocess.run(["tmux", *args], capture_output=True, text=True)
        if out.returncode == 0:
            return out.stdout
        time.sleep(0.5)
    raise RuntimeError(f"tmux {' '.join(args[:2])} failed: {out.stderr.strip()}")


def first_paint(command: str, marker: str, workdir: Path) -> float:
    """Seconds from starting `command` in a fresh 80×24 tmux pane until `marker` is on screen."""
    name = f"tuibench-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", f"cd {workdir} && {command}; sleep 30")
    try:
        while True:
            if marker in tmux("capture-pane", "-p", "-t", name):
                return time.perf_counter() - start
            if time.perf_counter() - start > 60:
                raise RuntimeError(f"{marker!r} never appeared for {command}")
            time.sleep(0.01)
    finally:
        tmux("kill-session", "-t", name)


def fresh_copy(root: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=root))
    target = folder / EXAMPLE.name
    shutil.copyfile(EXAMPLE, target)
    return target


def make_config(path: Path):
    from graph.config import FasterPyConfig

    config = FasterPyConfig.load(path.parent)
    config.generation.backend = "rules"
    config.mode = "each"
    config.attempts = 1  # the rules engine gives its candidates in the first attempt
    config.state_db = str(path.parent / "runs.sqlite")
    return config


def direct_run(path: Path) -> float:
    from graph.api import optimize

    start = time.perf_counter()
    result = optimize(path, TARGETS, make_config(path))
    elapsed = time.perf_counter() - start
    if not any(t.best for t in result.targets):
        raise RuntimeError(f"no verified candidate: {result.status} {result.error}")
    return elapsed


async def tui_run(path: Path) -> float:
    """ctrl+r → the diff view holds hunks of a verified candidate (both targets done)."""
    from fasterpy_tui.app import FasterPyApp
    from fasterpy_tui.widgets.diff_view import DiffView

    app = FasterPyApp(path, config=make_config(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _select(pilot)
        diff = app.screen.query_one(DiffView)
        start = time.perf_counter()
        await pilot.press("ctrl+r")
        while not diff.hunks:
            await asyncio.sleep(0.005)
        return time.perf_counter() - start


async def _select(pilot) -> None:
    functions = pilot.app.screen.query_one("#functions")
    order = list(functions.functions)
    for name in TARGETS:
        functions.highlighted = order.index(name)
        await pilot.press("space")
    await pilot.pause()


async def key_latencies(path: Path, keys: int, during_run: bool) -> list[float]:
    from fasterpy_tui.app import FasterPyApp

    app = FasterPyApp(path, config=make_config(path))
    out: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _select(pilot)
        await pilot.press("1")  # the code tab: each key re-renders the highlighted function
        functions = app.screen.query_one("#functions")
        functions.focus()
        if during_run:
            await pilot.press("ctrl+r")
            await pilot.press("1")
            functions.focus()
            panel = app.screen.query_one("#progress-panel")
            while not panel.events:  # the worker is past start-up and into the pipeline
                await asyncio.sleep(0.005)
        for i in range(keys):
            if during_run and app.screen.handle is None:
                break  # the run ended: only presses made while it ran count
            start = time.perf_counter()
            await pilot.press("down" if i % 2 == 0 else "up")
            out.append(time.perf_counter() - start)
        if during_run:
            app.screen.action_cancel()
            await app.workers.wait_for_complete()
    return out


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.1f} ms" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keys", type=int, default=30)
    args = parser.parse_args()
    console = Console()
    root = Path(tempfile.mkdtemp(prefix="tui-bench-"))
    os.environ.setdefault("FASTERPY_CACHE", str(root / "cache"))
    try:
        workdir = fresh_copy(root).parent
        bare = root / "bare.py"
        bare.write_text(BARE_APP)
        paint_tui: list[float] = []
        paint_bare: list[float] = []
        for _ in range(args.repeats):
            paint_tui.append(first_paint(f"{TUI} {EXAMPLE.name}", "Functions", workdir))
            paint_bare.append(first_paint(f"{sys.executable} {bare}", "Functions", workdir))
        console.print(f"first paint done ({args.repeats} repeats each)")

        direct_run(fresh_copy(root))  # warm-up: imports, the sandbox pool, the KB (both sides then start warm)
        run_direct: list[float] = []
        run_tui: list[float] = []
        for _ in range(args.repeats):  # interleaved, so load changes on the machine hit both alike
            run_direct.append(direct_run(fresh_copy(root)))
            run_tui.append(asyncio.run(tui_run(fresh_copy(root))))
        console.print("run → diff done")

        idle: list[float] = []
        busy: list[float] = []
        for _ in range(args.repeats):
            idle += asyncio.run(key_latencies(fresh_copy(root), args.keys, during_run=False))
            busy += asyncio.run(key_latencies(fresh_copy(root), args.keys, during_run=True))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    table = Table(title=f"fasterpy-tui latency (median of repeats; {os.cpu_count()} CPUs)")
    table.add_column("measure")
    table.add_column("fasterpy-tui", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("baseline is", justify="left")
    table.add_column("ratio", justify="right")
    rows = [
        ("time to first paint", paint_tui, paint_bare, "bare Textual app"),
        ("run → first verified diff", run_tui, run_direct, "graph.api.optimize, no UI"),
        ("key press handled", busy, idle, "same app, idle"),
    ]
    for label, ours, base, what in rows:
        ratio = statistics.median(ours) / statistics.median(base) if ours and base else float("nan")
        table.add_row(label, ms(ours), ms(base), what, f"{ratio:.2f}×")
    console.print(table)
    console.print(f"key presses measured during runs: {len(busy)} (idle: {len(idle)}); "
                  f"run → diff per repeat: tui {[round(x, 1) for x in run_tui]} s, direct {[round(x, 1) for x in run_direct]} s")


if __name__ == "__main__":
    main()
