"""Batch runs over a PIE-format set (`fasterpy batch`): the pipeline in program mode on every row,
never retrieving the row's own problem, appending one output row per input row (resumable).

The output keeps every input column and adds the emitted program in `out_col` (the column
`fasterpy eval` reads as model_generated_potentially_faster_code_col) plus fasterpy_* columns,
among them where the row ran (`fasterpy_node`: the host name, `fasterpy_pid`; `fasterpy_ray_node`
under Ray). A row with no verified improvement emits its original program: unverified code is never
emitted. With `ray` the rows run on a Ray cluster (graph.batch_ray); they are written here either way."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.config import FasterPyConfig
from graph.result import OptimizeResult
from harness.errors import FasterPyError
from harness.files import append_jsonl, read_jsonl

if TYPE_CHECKING:
    from graph.batch_ray import RaySettings

DEFAULT_OUT_COL = "generated_answers"
SOURCE_COLUMNS = ("input", "src_code", "slow_code", "code_v0")


@dataclass
class BatchSummary:
    rows: int = 0  # rows in the input (after --limit)
    skipped: int = 0  # already in the output (resumed)
    done: int = 0  # processed in this run
    optimized: int = 0
    errors: int = 0
    seconds: list[float] = field(default_factory=list)


def read_input(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise FasterPyError(f"{p} does not exist — pass a PIE-format .jsonl file")
    return read_jsonl(p)


def source_column(rows: list[dict[str, Any]], wanted: str | None) -> str:
    if not rows:
        raise FasterPyError("the input file has no rows")
    if wanted:
        if wanted not in rows[0]:
            raise FasterPyError(f"no column {wanted!r} in the input — columns: {', '.join(rows[0])}")
        return wanted
    for col in SOURCE_COLUMNS:
        if col in rows[0]:
            return col
    raise FasterPyError(f"no source-code column ({', '.join(SOURCE_COLUMNS)}) in the input — pass --src-col")


def row_key(index: int, row: dict[str, Any], src: str) -> str:
    return f"{index}:{row.get('problem_id', '')}:{hashlib.sha1(src.encode()).hexdigest()[:12]}"


def done_keys(out_path: Path) -> set[str]:
    """Keys of rows already written (a torn last line from a crash is ignored and redone; the next
    append drops it)."""
    keys: set[str] = set()
    if out_path.is_file():
        for row in read_jsonl(out_path, skip_bad=True):
            try:
                keys.add(row["fasterpy_key"])
            except (KeyError, TypeError):
                continue
    return keys


def output_row(row: dict[str, Any], key: str, src: str, result: OptimizeResult, out_col: str) -> dict[str, Any]:
    best = next((t.best for t in result.targets if t.best is not None), None)
    emitted = result.new_source if result.optimized else src
    out = dict(row)
    out.update({
        out_col: emitted,
        "fasterpy_key": key,
        "fasterpy_status": result.status,
        "fasterpy_speedup": best.speedup if best else None,
        "fasterpy_ci": [best.ci_low, best.ci_high] if best else None,
        "fasterpy_attempts": len(result.attempts),
        "fasterpy_attempt_statuses": [a.status for a in result.attempts],
        "fasterpy_seconds": round(result.seconds, 3),
        "fasterpy_error": result.error,
    })
    return out


def iter_rows(rows: list[dict[str, Any]], src_col: str, limit: int | None) -> Iterator[tuple[int, dict[str, Any], str]]:
    for i, row in enumerate(rows[: limit if limit else None]):
        yield i, row, str(row.get(src_col) or "")


@dataclass(frozen=True)
class RowJob:
    """One input row still to process: its number in the input, the row, its program and its key."""

    index: int
    row: dict[str, Any]
    src: str
    key: str

    @property
    def problem_id(self) -> str:
        return str(self.row.get("problem_id", ""))

    @property
    def label(self) -> str:
        return f"{self.problem_id or 'row'}-{self.index}.py"


def where_ran() -> dict[str, Any]:
    """The output columns saying where a row ran (timings of rows from different machines differ:
    `fasterpy eval` re-times every program on the machine it runs on)."""
    return {"fasterpy_node": socket.gethostname(), "fasterpy_pid": os.getpid()}


def process_row(job: RowJob, tests: Path, config: FasterPyConfig, ctx: Any,
                out_col: str = DEFAULT_OUT_COL) -> tuple[dict[str, Any], OptimizeResult]:
    """Run the pipeline on one row in `ctx` (a RunContext kept open across rows); the output row
    (with where it ran) and the result. Used by the local runner and by each Ray task alike."""
    from graph.api import optimize_source

    pid = job.problem_id
    result = optimize_source(
        job.src, label=job.label, config=config, context=ctx,
        tests_dir=tests / pid if pid else tests, exclude_problems=[pid] if pid else [],
        # the replay backend finds the row by submission id, else by row number
        key=str(job.row.get("submission_id_v0") or job.index),
    )
    out = output_row(job.row, job.key, job.src, result, out_col)
    out.update(where_ran())
    return out, result


def failed_row(job: RowJob, reason: str, out_col: str = DEFAULT_OUT_COL) -> tuple[dict[str, Any], OptimizeResult]:
    """The output row of a row that could not be processed at all (its worker kept dying): status
    error with the reason, the original program emitted."""
    result = OptimizeResult(status="error", path=job.label, run_id="", mode="program", error=reason)
    return output_row(job.row, job.key, job.src, result, out_col), result


class RowWriter:
    """The driver's side of a batch: appends each finished row to the output (resumable: a crash
    loses at most the rows in flight), keeps the summary and drives `on_row`."""

    def __init__(self, out: Path, total: int, summary: BatchSummary,
                 on_row: Callable[[int, int, OptimizeResult | None], None] | None) -> None:
        self.out, self.total, self.summary, self.on_row = out, total, summary, on_row
        self.handled = 0

    def skipped(self) -> None:
        self.summary.skipped += 1
        self._progress(None)

    def write(self, out_row: dict[str, Any], result: OptimizeResult) -> None:
        append_jsonl(self.out, out_row)
        self.summary.done += 1
        self.summary.optimized += result.optimized
        self.summary.errors += result.status == "error"
        self.summary.seconds.append(result.seconds)
        self._progress(result)

    def _progress(self, result: OptimizeResult | None) -> None:
        self.handled += 1
        if self.on_row:
            self.on_row(self.handled, self.total, result)


def plan_batch(input_path: str | os.PathLike[str], tests_dir: str | os.PathLike[str],
               out_path: str | os.PathLike[str], src_col: str | None = None,
               limit: int | None = None) -> tuple[Path, Path, list[RowJob], list[RowJob]]:
    """Check the inputs and split the rows: (tests dir, output path, rows to do, rows already written)."""
    tests = Path(tests_dir)
    if not tests.is_dir():
        raise FasterPyError(f"test directory {tests} does not exist — pass the PIE public_test_cases/ directory")
    rows = read_input(input_path)
    col = source_column(rows, src_col)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    seen = done_keys(out)
    jobs = [RowJob(i, row, src, row_key(i, row, src)) for i, row, src in iter_rows(rows, col, limit)]
    return tests, out, [j for j in jobs if j.key not in seen], [j for j in jobs if j.key in seen]


def run_batch(
    input_path: str | os.PathLike[str],
    tests_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    config: FasterPyConfig,
    *,
    src_col: str | None = None,
    out_col: str = DEFAULT_OUT_COL,
    limit: int | None = None,
    on_row: Callable[[int, int, OptimizeResult | None], None] | None = None,
    on_event: Any = None,
    ray: RaySettings | None = None,
) -> BatchSummary:
    """Process every row not yet in `out_path`; `on_row(done, total, result)` drives a progress bar
    (result None for a row skipped because it was already written). With `ray` the rows run as Ray
    tasks (graph.batch_ray) and the finished ones stream into the same output here; without it
    they run one after another in this process and Ray is never imported."""
    tests, out, todo, done = plan_batch(input_path, tests_dir, out_path, src_col, limit)
    summary = BatchSummary(rows=len(todo) + len(done))
    writer = RowWriter(out, summary.rows, summary, on_row)
    for _ in done:
        writer.skipped()
    if ray is not None:
        from graph.batch_ray import run_rows_on_ray

        run_rows_on_ray(todo, tests, config, writer, ray, out_col=out_col)
        return summary
    from graph.events import ignore_events
    from graph.pipeline.context import RunContext

    # one context for every row: the backend, the knowledge base and the warm sandbox worker stay open
    with RunContext(on_event=on_event or ignore_events) as ctx:
        for job in todo:
            writer.write(*process_row(job, tests, config, ctx, out_col))
    return summary
