"""`fasterpy eval INPUT.jsonl --tests DIR`: PIE-format evaluation with the paper's metrics.

Every figure is re-timed here: each row's original, reference and model programs run again on this
machine's sandbox, never trusting timings a row brings along (`fasterpy batch`'s fasterpy_speedup,
taken on whichever node ran the row), so rows processed on many machines (`batch --ray`) compare
fairly. The footer names this machine and the nodes the rows were generated on (`fasterpy_node`);
the per-row report carries each row's node. The harness and rich are imported inside the command
so `fasterpy --help` stays fast."""

from __future__ import annotations

import json
import socket
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer


def _fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.3f} ms"


def _fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _fmt_x(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}×"


def where_generated(rows: Sequence[dict[str, Any]], report_rows: list[dict[str, Any]]) -> dict[str, int]:
    """Add each input row's node (`fasterpy_node`, pid; None when the file does not say) to its
    report row; return the rows per node."""
    for rep in report_rows:
        src = rows[rep["index"]]
        rep["generated_on"] = src.get("fasterpy_node")
        rep["generated_pid"] = src.get("fasterpy_pid")
    return dict(Counter(str(r["generated_on"]) for r in report_rows if r["generated_on"] is not None))


def _timing_note(report: Any) -> str:
    nodes = report.options.get("generated_on") or {}
    made = ", ".join(f"{n} ({c})" for n, c in sorted(nodes.items())) if nodes else "not recorded"
    return (f"timings re-measured on this machine ({report.options['timed_on']}), not taken from the rows; "
            f"rows were generated on: {made}")


def _print_table(report, input_path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"fasterpy eval — {input_path.name} ({report.metrics.rows} rows)")
    table.add_column("metric")
    table.add_column(f"model ({report.columns.model})", justify="right")
    if report.reference_metrics:
        table.add_column(f"reference ({report.columns.reference})", justify="right")
    rows = [
        ("scored rows (tests + correct original)", lambda m: str(m.evaluable)),
        ("Pass@1 (Eq. 5)", lambda m: _fmt_pct(m.pass_at_1)),
        ("Runtime_Mean, candidate (Eq. 4)", lambda m: _fmt_s(m.runtime_mean_model)),
        ("Runtime_Mean, original, same rows", lambda m: _fmt_s(m.runtime_mean_origin)),
        ("@Speedup (Eq. 6)", lambda m: _fmt_x(m.speedup)),
        ("%OPT (Eq. 7, scored rows)", lambda m: _fmt_pct(m.pct_opt)),
        ("PIE %Opt (all rows)", lambda m: _fmt_pct(m.pie_pct_opt)),
        ("PIE mean speedup (all rows)", lambda m: _fmt_x(m.pie_speedup)),
    ]
    for label, fn in rows:
        cells = [label, fn(report.metrics)]
        if report.reference_metrics:
            cells.append(fn(report.reference_metrics))
        table.add_row(*cells)
    console.print(table)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(report.counts.items()))
    console.print(f"rows by status — {counts}")
    console.print(
        f"runs {report.options['runs']} (first {report.options['drop']} dropped), "
        f"timeout {report.options['limits']['timeout_s']} s, workers {report.options['workers']}, "
        f"candidate: {report.options['candidate']}, clock: {report.options['clock']}"
    )
    console.print(_timing_note(report), highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        input_path: Path = typer.Argument(..., metavar="INPUT.jsonl", help="PIE-format JSONL: problem_id + slow, reference and model code columns."),
        tests: Path = typer.Option(..., "--tests", help="Test folders: DIR/<problem_id>/input.N.txt and output.N.txt."),
        slow_col: str | None = typer.Option(None, "--slow-col", help="Slow (original) code column (default: input, slow_code, …)."),
        ref_col: str | None = typer.Option(None, "--ref-col", help="Reference (human fast) code column (default: target, reference_code, …)."),
        model_col: str | None = typer.Option(None, "--model-col", help="Model code column, a string or a list of candidates (default: generated_answers, …)."),
        candidate: str = typer.Option("first", "--candidate", help="With a list of candidates: 'first' (Pass@1) or 'best' (fastest correct)."),
        no_reference: bool = typer.Option(False, "--no-reference", help="Do not run the reference programs."),
        runs: int = typer.Option(4, "--runs", help="Runs per test (Eq. 2)."),
        drop: int = typer.Option(1, "--drop", help="Leading runs dropped as warm-up (Eq. 2)."),
        timeout: float = typer.Option(10.0, "--timeout", help="Seconds per run."),
        memory_mb: int = typer.Option(1024, "--memory-mb", help="Address-space limit per run (MiB)."),
        workers: int | None = typer.Option(None, "--workers", help="Parallel workers (default: the CPUs available)."),
        limit: int | None = typer.Option(None, "--limit", help="Evaluate only the first N rows."),
        report_path: Path | None = typer.Option(None, "--report", help="Write one JSON line per row here."),
        as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON instead of a table."),
        strict_lines: bool = typer.Option(False, "--strict-lines", help="Count extra output lines as wrong (PIE does not)."),
        clock: str = typer.Option("wall", "--clock", help="'wall' (perf_counter, the paper's) or 'cpu' (process CPU time, steadier on a busy machine)."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    ) -> None:
        """Evaluate model outputs on PIE-format rows: Pass@1, Runtime_Mean, @Speedup, %OPT and PIE's %Opt.

        Every program is re-timed on this machine (row timings from `fasterpy batch` are not used),
        so outputs produced on several nodes are scored on one clock."""
        from harness.errors import FasterPyError
        from harness.evaluate import EvalOptions, evaluate_rows, load_rows, write_report
        from harness.limits import Limits
        from harness.pool import WorkerPool

        rows = load_rows(input_path)
        if not tests.is_dir():
            raise FasterPyError(f"tests directory {tests} does not exist — pass --tests DIR with DIR/<problem_id>/input.N.txt")
        if limit is not None:
            rows = rows[: max(0, limit)]
        if drop < 0 or drop >= runs:
            raise FasterPyError(f"--drop {drop} must be between 0 and --runs minus 1 ({runs - 1})")
        options = EvalOptions(
            runs=runs, drop=drop, limits=Limits(timeout_s=timeout, memory_mb=memory_mb), candidate=candidate,
            include_reference=not no_reference, slow_col=slow_col, ref_col=ref_col, model_col=model_col,
            strict_lines=strict_lines, clock=clock,
        )
        if clock not in ("wall", "cpu"):
            raise FasterPyError(f"--clock must be 'wall' or 'cpu', got {clock!r}")
        if candidate not in ("first", "best"):
            raise FasterPyError(f"--candidate must be 'first' or 'best', got {candidate!r}")
        with WorkerPool(workers=workers, limits=options.limits) as pool:
            if progress and sys.stderr.isatty():
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                              transient=True) as bar:
                    task = bar.add_task("eval", total=None)
                    report = evaluate_rows(rows, tests, options, pool,
                                           on_progress=lambda done, total: bar.update(task, completed=done, total=total))
            elif progress:
                def plain(done: int, total: int) -> None:
                    if total and (done == total or done % max(1, total // 4) == 0):
                        print(f"evaluating: {done}/{total} programs", file=sys.stderr)

                report = evaluate_rows(rows, tests, options, pool, on_progress=plain)
            else:
                report = evaluate_rows(rows, tests, options, pool)
        report.options["timed_on"] = socket.gethostname()
        report.options["generated_on"] = where_generated(rows, report.rows)
        if report_path is not None:
            write_report(report.rows, report_path)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
        else:
            _print_table(report, input_path)
            if report_path is not None:
                typer.echo(f"per-row report: {report_path}")
