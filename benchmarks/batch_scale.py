"""Rows per minute of `fasterpy batch`: the local runner against Ray with 1 and 2 worker processes
on this machine, on the same rows with the same backend (rules: generation costs next to nothing,
so the figure is the pipeline's own cost, verification first), then a projection for N nodes.

    .venv/bin/python benchmarks/batch_scale.py [--rows 12] [--repeats 3] [--attempts 1]

Rows: the first `--rows` of data/pie_sample (real PIE programs and their public tests). Each
repeat writes a fresh output file; rows/min is rows over the batch's wall time (medians of the
repeats). A Ray mode starts its local cluster (`ray.init(num_cpus=W)`) once, before its repeats;
that start is shown apart and left out of rows/min (a cluster outlives many batches). The
projection scales the measured seconds per row per worker by workers per node and nodes, times the
efficiency measured here from 1 to 2 workers; it ignores the driver, which only writes rows."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from graph.batch import run_batch  # noqa: E402
from graph.config import FasterPyConfig  # noqa: E402
from harness.files import read_jsonl, write_jsonl  # noqa: E402

SAMPLE = ROOT / "data" / "pie_sample"


def one_batch(rows_file: Path, work: Path, cfg: FasterPyConfig, ray: object | None) -> tuple[float, list[str]]:
    """Seconds for one batch into a fresh output, and the rows' statuses in input order."""
    out = Path(tempfile.mkdtemp(dir=work)) / "out.jsonl"
    t0 = time.perf_counter()
    summary = run_batch(rows_file, SAMPLE / "tests", out, cfg, ray=ray)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    assert summary.done == summary.rows, summary
    by_key = {r["fasterpy_key"]: r["fasterpy_status"] for r in read_jsonl(out)}
    return seconds, [by_key[k] for k in sorted(by_key)]


@dataclass
class Measured:
    seconds: list[float]  # one batch's wall time per repeat
    statuses: list[str]  # the first repeat's row statuses, by key
    start_s: float  # starting the Ray cluster (0 for the local runner)
    same: bool  # every repeat gave the same statuses


def measure(mode: str, workers: int, rows_file: Path, work: Path, cfg: FasterPyConfig,
            repeats: int) -> Measured:
    start_s = 0.0
    settings = None
    if mode == "ray":
        import ray

        from graph.batch_ray import RaySettings

        t0 = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        start_s = time.perf_counter() - t0
        settings = RaySettings()
    try:
        runs = [one_batch(rows_file, work, cfg, settings) for _ in range(repeats)]
    finally:
        if mode == "ray":
            ray.shutdown()
    return Measured([s for s, _ in runs], runs[0][1], start_s, all(st == runs[0][1] for _, st in runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--attempts", type=int, default=1)
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--workers-per-node", type=int, default=16, help="projection: row workers (cores) per node")
    args = ap.parse_args()

    rows = read_jsonl(SAMPLE / "sample.jsonl")[: args.rows]
    work = Path(tempfile.mkdtemp(prefix="fasterpy-batch-scale-"))
    rows_file = work / "rows.jsonl"
    write_jsonl(rows_file, rows)
    cfg = FasterPyConfig.load(work, {"generation.backend": "rules", "attempts": args.attempts, "candidates": 1})

    console = Console()
    modes = [("local", 1), ("ray", 1), ("ray", 2)]
    results: dict[str, Measured] = {}
    for mode, workers in modes:
        name = "local runner" if mode == "local" else f"ray, {workers} worker(s)"
        console.print(f"[dim]{name}: {args.repeats} × {len(rows)} rows …[/dim]")
        results[name] = measure(mode, workers, rows_file, work, cfg, args.repeats)

    base = statistics.median(results["local runner"].seconds)
    table = Table(title=f"fasterpy batch: {len(rows)} pie_sample rows, rules backend, attempts {args.attempts}, "
                        f"median of {args.repeats}", title_justify="left")
    for col in ("runner", "batch s (median)", "min–max s", "rows/min", "× local", "cluster start s", "same statuses"):
        table.add_column(col, justify="right" if col != "runner" else "left")
    rate: dict[str, float] = {}
    for name, r in results.items():
        med = statistics.median(r.seconds)
        rate[name] = len(rows) * 60 / med
        same = r.same and r.statuses == results["local runner"].statuses
        table.add_row(name, f"{med:.1f}", f"{min(r.seconds):.1f}–{max(r.seconds):.1f}", f"{rate[name]:.1f}",
                      f"{base / med:.2f}", f"{r.start_s:.1f}" if r.start_s else "-", "yes" if same else "no")
    console.print(table)

    per_row = 60 / rate["ray, 1 worker(s)"]  # seconds per row on one Ray worker
    efficiency = rate["ray, 2 worker(s)"] / (2 * rate["ray, 1 worker(s)"])
    console.print(f"per row on one worker: {per_row:.2f} s; 1 → 2 workers here: {efficiency:.0%} of linear "
                  f"(2 cores shared with the driver and Ray's own processes)")
    for nodes in args.nodes:
        proj = nodes * args.workers_per_node * 60 / per_row * efficiency
        console.print(f"projection: {nodes} node(s) × {args.workers_per_node} workers ≈ {proj:,.0f} rows/min "
                      f"(752 PIE test rows in {752 / proj:.1f} min), if generation keeps up")


if __name__ == "__main__":
    main()
