"""The library API: `optimize(path, targets)` runs the whole pipeline headless and returns an
`OptimizeResult`; `resume(run_id)` continues an interrupted run; `write_result` applies one.

    from graph.api import optimize
    result = optimize("data/examples/slow_stats.py", ["pairwise_close"])
    print(result.status, result.targets[0].speedup)
    print(result.diff)

For custom scripts the compiled graph, its state type and its runtime context are exported too
(`build_graph`, `PipelineState`, `RunContext`, `initial_state`): invoke the graph with
`context=RunContext(...)` and close the context afterwards (see `graph.pipeline.run`)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph.config import FasterPyConfig
from graph.events import CandidateEvent, CandidateSink, EventSink, ignore_candidates, ignore_events
from graph.pipeline.build import build_graph
from graph.pipeline.context import RunContext
from graph.pipeline.run import load_run, run_graph
from graph.pipeline.state import PipelineState
from graph.result import OptimizeResult, TargetResult
from graph.source import check_syntax, read_source, resolve_targets
from harness.errors import FasterPyError
from harness.files import backup_path, replace_checked
from harness.textdiff import unified_diff as _text_diff

__all__ = [
    "optimize", "optimize_source", "resume", "write_result", "initial_state", "build_graph", "PipelineState",
    "RunContext", "OptimizeResult", "TargetResult", "FasterPyConfig", "read_source", "unified_diff", "backup_path",
    "CandidateEvent",
]


# -- runs ------------------------------------------------------------------------------------


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def initial_state(
    path: str | os.PathLike[str],
    targets: Sequence[str] = (),
    config: FasterPyConfig | None = None,
    *,
    source: str | None = None,
    tests_dir: str | os.PathLike[str] | None = None,
    input_files: Sequence[str | os.PathLike[str]] = (),
    exclude_problems: Sequence[str] = (),
    run_id: str | None = None,
    key: str | None = None,
) -> PipelineState:
    """A checked starting state. Program mode (stdin/stdout tests) when `tests_dir` or `input_files`
    is given, else function mode (calls captured from a driver), which needs `targets`."""
    path = str(path)
    if source is None:
        source = read_source(path)
    else:
        check_syntax(source, path)
    cfg = config or FasterPyConfig.load(path)
    program = tests_dir is not None or bool(input_files)
    names = resolve_targets(source, targets, path, required=not program)
    if names and cfg.mode == "each":
        groups = [[n] for n in names]
    else:
        groups = [names]
    return PipelineState(
        run_id=run_id or new_run_id(),
        path=path,
        mode="program" if program else "function",
        config=cfg.to_dict(),
        original_source=source,
        tests_dir=str(tests_dir) if tests_dir is not None else None,
        input_files=[str(f) for f in input_files],
        exclude_problems=list(exclude_problems),
        key=key,
        groups=groups,
        source=source,
        group=0,
        results=[],
    )


def optimize(
    path: str | os.PathLike[str],
    targets: Sequence[str] = (),
    config: FasterPyConfig | None = None,
    on_event: EventSink | None = None,
    cancel: threading.Event | None = None,
    *,
    tests_dir: str | os.PathLike[str] | None = None,
    input_files: Sequence[str | os.PathLike[str]] = (),
    backend: Any = None,
    checkpoint: bool = True,
    on_candidate: CandidateSink | None = None,
) -> OptimizeResult:
    """Optimize `targets` in the file at `path`. Never writes the file (see `write_result`).

    Returns status "optimized" (some group verified faster), "no_improvement", "error" (a bad
    input or a failure, with `error` set; nothing was changed) or "cancelled" (the `cancel` event
    was set; `resume(result.run_id)` continues). `backend` reuses an already-created generation
    backend; `checkpoint=False` skips the SQLite run database. `on_candidate` receives each accepted
    candidate (a `graph.events.CandidateEvent`) as soon as it is verified, in the calling thread,
    while the search goes on (the result still holds them all)."""
    cfg = config
    start = time.perf_counter()
    try:
        cfg = cfg or FasterPyConfig.load(path)
        state = initial_state(path, targets, cfg, tests_dir=tests_dir, input_files=input_files)
    except FasterPyError as exc:
        return OptimizeResult(status="error", path=str(path), run_id="", mode="", error=str(exc),
                              seconds=time.perf_counter() - start)
    with RunContext(on_event=on_event or ignore_events, cancel=cancel or threading.Event(), backend=backend,
                    on_candidate=on_candidate or ignore_candidates) as ctx:
        try:
            prepare_inputs(state, ctx)
        except FasterPyError as exc:
            return OptimizeResult(status="error", path=str(path), run_id="", mode=state["mode"], error=str(exc),
                                  original_source=state["original_source"], new_source=state["original_source"],
                                  seconds=time.perf_counter() - start)
        return run_state(state, ctx, cfg.state_db_path() if checkpoint else None, start=start)


def prepare_inputs(state: PipelineState, ctx: RunContext) -> None:
    """Check the verification inputs before a run is created: capture the target functions' calls
    from the driver (function mode; cached for the graph) or load the tests (program mode). A
    driver that crashes or never calls a target fails here, with nothing checkpointed."""
    if state["mode"] == "function":
        for group in state["groups"]:
            ctx.captured(state, group)
    else:
        ctx.tests(state)


def optimize_source(
    source: str,
    label: str = "program.py",
    targets: Sequence[str] = (),
    config: FasterPyConfig | None = None,
    context: RunContext | None = None,
    *,
    tests_dir: str | os.PathLike[str] | None = None,
    input_files: Sequence[str | os.PathLike[str]] = (),
    exclude_problems: Sequence[str] = (),
    key: str | None = None,
    checkpoint: bool = False,
) -> OptimizeResult:
    """Like `optimize`, for code that is not in a file (batch rows): program mode only. A `context`
    passed in serves several calls (its backend, KB and pool stay open); the caller closes it."""
    start = time.perf_counter()
    cfg = config or FasterPyConfig.load()
    try:
        state = initial_state(label, targets, cfg, source=source, tests_dir=tests_dir, input_files=input_files,
                              exclude_problems=exclude_problems, key=key)
    except FasterPyError as exc:
        return OptimizeResult(status="error", path=label, run_id="", mode="program", error=str(exc),
                              seconds=time.perf_counter() - start)
    db = cfg.state_db_path() if checkpoint else None
    if context is not None:
        return run_state(state, context, db, start=start)
    with RunContext() as ctx:
        return run_state(state, ctx, db, start=start)


def resume(
    run_id: str,
    on_event: EventSink | None = None,
    cancel: threading.Event | None = None,
    state_db: str | os.PathLike[str] | None = None,
    backend: Any = None,
    on_candidate: CandidateSink | None = None,
) -> OptimizeResult:
    """Continue an interrupted run from its last finished node (or return a finished run's result);
    `on_candidate` as in `optimize` (for the candidates verified from here on)."""
    start = time.perf_counter()
    db = _default_db(state_db)
    values = load_run(db, run_id)
    path = values["path"]
    if Path(path).exists():
        current = Path(path).read_bytes().decode("utf-8", errors="replace")
        if current != values["original_source"]:
            raise FasterPyError(f"{path} changed since run {run_id} started — start a new run instead of resuming")
    with RunContext(on_event=on_event or ignore_events, cancel=cancel or threading.Event(), backend=backend,
                    on_candidate=on_candidate or ignore_candidates) as ctx:
        return run_state(None, ctx, db, start=start, run_id=run_id)


def _default_db(state_db: str | os.PathLike[str] | None) -> Path:
    if state_db:
        return Path(state_db).expanduser()
    try:
        return FasterPyConfig.load().state_db_path()
    except FasterPyError:
        return FasterPyConfig.from_dict({}).state_db_path()


def run_state(
    state: PipelineState | None,
    ctx: RunContext,
    db: Path | None,
    start: float | None = None,
    run_id: str | None = None,
) -> OptimizeResult:
    """Run a fresh state, or (state None) continue the checkpointed `run_id`, and report it as an
    `OptimizeResult`. `ctx` stays open (the caller closes it); its per-run caches are dropped."""
    start = time.perf_counter() if start is None else start
    run_id = run_id or (state or {}).get("run_id") or new_run_id()
    try:
        outcome = run_graph(state, ctx, db, run_id)
    finally:
        ctx.reset_run()
    return _result(outcome.values, outcome.status, start, run_id, error=outcome.error)


def _result(values: dict[str, Any], status: str | None, start: float, run_id: str, error: str = "") -> OptimizeResult:
    original = values.get("original_source", "")
    targets = [TargetResult.from_dict(r) for r in values.get("results") or []]
    optimized = any(t.status == "optimized" for t in targets)
    if status is None:
        status = "optimized" if optimized else "no_improvement"
    # Only a finished group's source is ever kept; an error or cancel still reports what was verified.
    new_source = values.get("source", original) if status != "error" else original
    path = values.get("path", "")
    return OptimizeResult(
        status=status,  # type: ignore[arg-type]
        path=path,
        run_id=run_id,
        mode=values.get("mode", ""),
        targets=targets,
        original_source=original,
        new_source=new_source,
        diff=unified_diff(original, new_source, path),
        error=error,
        seconds=time.perf_counter() - start,
    )


def unified_diff(before: str, after: str, path: str = "file.py") -> str:
    """The patch from `before` to `after` of the file at `path`, as `git diff` names it (a/NAME, b/NAME)."""
    name = Path(path).name or "file.py"
    return _text_diff(before, after, f"a/{name}", f"b/{name}")


# -- applying --------------------------------------------------------------------------------


def write_result(result: OptimizeResult) -> Path:
    """Apply an optimized result to its file: first a backup (FILE.bak, see `backup_path`), then the
    new source, each written atomically, under a lock on the file (harness.files.replace_checked:
    kill -9, a full disk or a second session never leave it mixed). Refuses when the file changed
    since it was read."""
    if result.status != "optimized" or result.new_source == result.original_source:
        raise FasterPyError("nothing to write: no verified improvement")
    path = Path(result.path)

    def unchanged(current: bytes) -> None:
        if current.decode("utf-8", errors="replace") != result.original_source:
            raise FasterPyError(f"{path} changed on disk during the run — nothing written; run again")

    backup = replace_checked(path, result.new_source.encode("utf-8"), unchanged)
    result.written_to = str(path)
    result.backup = str(backup)
    return backup
