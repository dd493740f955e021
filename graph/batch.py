"""Batch runs over a PIE-format set (`fasterpy batch`): the pipeline in program mode on every row,
never retrieving the row's own problem, appending one output row per input row (resumable).

The output keeps every input column and adds the emitted program in `out_col` (the column
`fasterpy eval` reads as model_generated_potentially_faster_code_col) plus fasterpy_* columns. A row
with no verified improvement emits its original program: unverified code is never emitted."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.config import FasterPyConfig
from graph.result import OptimizeResult
from harness.errors import FasterPyError
from harness.files import append_jsonl, read_jsonl

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
) -> BatchSummary:
    """Process every row not yet in `out_path`; `on_row(done, total, result)` drives a progress bar
    (result None for a row skipped because it was already written)."""
    from graph.api import optimize_source
    from graph.events import ignore_events
    from graph.pipeline.context import RunContext

    tests = Path(tests_dir)
    if not tests.is_dir():
        raise FasterPyError(f"test directory {tests} does not exist — pass the PIE public_test_cases/ directory")
    rows = read_input(input_path)
    col = source_column(rows, src_col)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    seen = done_keys(out)
    todo = list(iter_rows(rows, col, limit))
    summary = BatchSummary(rows=len(todo))
    # one context for every row: the backend, the knowledge base and the warm sandbox worker stay open
    with RunContext(on_event=on_event or ignore_events) as ctx:
        for n, (i, row, src) in enumerate(todo, 1):
            key = row_key(i, row, src)
            if key in seen:
                summary.skipped += 1
                if on_row:
                    on_row(n, len(todo), None)
                continue
            pid = str(row.get("problem_id", ""))
            result = optimize_source(
                src, label=f"{pid or 'row'}-{i}.py", config=config, context=ctx,
                tests_dir=tests / pid if pid else tests, exclude_problems=[pid] if pid else [],
                # the replay backend finds the row by submission id, else by row number
                key=str(row.get("submission_id_v0") or i),
            )
            append_jsonl(out, output_row(row, key, src, result, out_col))
            summary.done += 1
            summary.optimized += result.optimized
            summary.errors += result.status == "error"
            summary.seconds.append(result.seconds)
            if on_row:
                on_row(n, len(todo), result)
    return summary
