"""What one sandboxed run costs: wall time, CPU time and page faults of the worker and of its forked
child, for a tiny program on one worker, against a fresh interpreter per run (the PIE-style
baseline) in the same run.

    .venv/bin/python benchmarks/harness_run_cost.py [--program 'print(1)'] [--runs 300] [--repeats 7]
    .venv/bin/python benchmarks/harness_run_cost.py --function     # function mode, a dataclass module

Numbers are medians over `repeats` blocks of `runs` runs. The harness is CPU-bound: on a machine
with as many workers as cores, throughput is set by worker + child CPU per run, so that column is
the one to push down (page faults are most of it: every page of the warm heap that the child or the
worker writes after a fork is a copy-on-write fault).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from harness.pool import WorkerPool  # noqa: E402
from harness.program import run_program  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def proc_counters(pid: int) -> dict[str, float]:
    """CPU seconds and minor faults of a process and of its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {"minflt": int(fields[7]), "cminflt": int(fields[8]),
            "cpu": (int(fields[11]) + int(fields[12])) / _TICK, "ccpu": (int(fields[13]) + int(fields[14])) / _TICK}


# Function mode's typical target: a module with standard-library imports and a small function.
MODULE = ("import dataclasses, datetime, fractions, json, typing\n\n\n@dataclasses.dataclass\nclass P:\n"
          "    x: int\n\n\ndef f(n: int) -> int:\n    return sum(P(i).x for i in range(n))\n")


def run_once(pool: WorkerPool, program: str, runs: int, function: bool) -> bool:
    if function:
        from harness.function import call_function

        return call_function(MODULE, "f", [((10,), {})], pool=pool, repeats=runs)[0].ok
    return run_program(program, [""], runs=runs, drop=1, pool=pool).ok


def ours(program: str, runs: int, repeats: int, function: bool = False) -> dict[str, float]:
    rows = []
    with WorkerPool(workers=1) as pool:
        pid = pool.worker_pids()[0]
        run_once(pool, program, 5, function)
        for _ in range(repeats):
            before = proc_counters(pid)
            t0 = time.perf_counter()
            ok = run_once(pool, program, runs, function)
            wall = time.perf_counter() - t0
            after = proc_counters(pid)
            if not ok:
                raise SystemExit("the program failed in the harness")
            rows.append({"wall": wall / runs, "worker_cpu": (after["cpu"] - before["cpu"]) / runs,
                         "child_cpu": (after["ccpu"] - before["ccpu"]) / runs,
                         "worker_faults": (after["minflt"] - before["minflt"]) / runs,
                         "child_faults": (after["cminflt"] - before["cminflt"]) / runs})
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def baseline(program: str, runs: int, repeats: int) -> dict[str, float]:
    rows = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        for _ in range(runs):
            subprocess.run([sys.executable, "-c", program], stdin=subprocess.DEVNULL, capture_output=True, check=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows.append({"wall": wall / runs,
                     "child_cpu": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs,
                     "child_faults": (after.ru_minflt - before.ru_minflt) / runs})
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--program", default="print(1)")
    ap.add_argument("--runs", type=int, default=300, help="runs per block (ours)")
    ap.add_argument("--baseline-runs", type=int, default=30, help="runs per block (fresh interpreter)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--function", action="store_true",
                    help="function mode: call f(10) of a module importing dataclasses, typing, json, ...")
    args = ap.parse_args()
    a = ours(args.program, args.runs, args.repeats, args.function)
    what = "f(10) of a dataclass module (function mode)" if args.function else repr(args.program)
    b = baseline(MODULE + "f(10)\n" if args.function else args.program, args.baseline_runs, args.repeats)
    table = Table(title=f"One run of {what}: warm worker + forked child vs a fresh interpreter")
    for col in ("per run (median of blocks)", "FasterPy harness", "fresh interpreter", "ratio"):
        table.add_column(col, justify="right" if col != "per run (median of blocks)" else "left")
    ours_cpu = a["worker_cpu"] + a["child_cpu"]
    table.add_row("wall time", f"{a['wall'] * 1e3:.2f} ms", f"{b['wall'] * 1e3:.2f} ms", f"{b['wall'] / a['wall']:.1f}×")
    table.add_row("CPU time, worker + child", f"{ours_cpu * 1e3:.2f} ms", f"{b['child_cpu'] * 1e3:.2f} ms",
                  f"{b['child_cpu'] / ours_cpu:.1f}×" if ours_cpu else "—")
    table.add_row("  of which worker", f"{a['worker_cpu'] * 1e3:.2f} ms", "", "")
    table.add_row("  of which child", f"{a['child_cpu'] * 1e3:.2f} ms", "", "")
    table.add_row("minor page faults, worker", f"{a['worker_faults']:.0f}", "", "")
    table.add_row("minor page faults, child", f"{a['child_faults']:.0f}", f"{b['child_faults']:.0f}", "")
    Console(width=110).print(table)


if __name__ == "__main__":
    main()
