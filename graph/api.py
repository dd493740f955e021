"""The library API: `optimize(path, targets)` runs the whole pipeline headless and returns an
`OptimizeResult`; `resume(run_id)` continues an interrupted run; `write_result` applies one.

    from graph.api import optimize
    result = optimize("data/examples/slow_stats.py", ["pairwise_close"])
    print(result.status, result.targets[0].speedup)
    print(result.diff)

For custom scripts the compiled graph and its state type are exported too (`build_graph`,
`PipelineState`, `initial_state`)."""

from __future__ import annotations

import ast
import difflib
import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph.build import build_graph, open_checkpointer, recursion_limit
from graph.config import FasterPyConfig
from graph.events import EventSink
from graph.nodes import RunCancelled, Services
from graph.result import OptimizeResult, TargetResult
from graph.safe_write import atomic_write, backup_path
from graph.state import PipelineState
from harness.errors import FasterPyError

__all__ = [
    "optimize", "optimize_source", "resume", "write_result", "initial_state", "build_graph", "PipelineState",
    "OptimizeResult", "TargetResult", "FasterPyConfig", "read_source", "unified_diff",
]


# -- input checks ----------------------------------------------------------------------------


def read_source(path: str | os.PathLike[str]) -> str:
    """The file's text exactly as stored (CRLF kept); one-line errors for every bad input."""
    p = Path(path)
    if not p.exists():
        raise FasterPyError(f"{p} does not exist — check the path")
    if p.is_dir():
        raise FasterPyError(f"{p} is a directory — name a Python file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FasterPyError(f"cannot read {p}: {exc.strerror} — check its permissions") from exc
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FasterPyError(
            f"{p} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}) — save it as UTF-8"
        ) from None
    check_syntax(source, str(p))
    return source


def check_syntax(source: str, name: str = "the code") -> None:
    try:
        ast.parse(source.removeprefix("\ufeff"))
    except SyntaxError as exc:
        raise FasterPyError(f"{name} has a syntax error at line {exc.lineno}: {exc.msg} — fix it first") from None
    except ValueError as exc:  # e.g. null bytes
        raise FasterPyError(f"{name} cannot be parsed: {exc} — fix the file") from None


def resolve_targets(source: str, targets: Sequence[str]) -> list[str]:
    """Canonical qualnames; unknown names, lambdas and classes are errors naming the candidates."""
    from kb.preprocess import extract_context, list_functions

    targets = [t.strip() for t in targets if t and t.strip()]
    if not targets:
        return []
    extract_context(source, targets)  # raises FasterPyError: unknown / lambda / class / unparsable
    infos = list_functions(source)
    quals = {i.qualname for i in infos}
    out: list[str] = []
    for t in targets:
        if t not in quals:
            matches = [i.qualname for i in infos if i.name == t]
            t = matches[0] if len(matches) == 1 else t
        if t not in out:
            out.append(t)
    return out


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
    names = resolve_targets(source, targets)
    if not program and not names:
        from kb.preprocess import list_functions

        listing = ", ".join(i.qualname for i in list_functions(source)) or "(none)"
        raise FasterPyError(
            f"no target function named — pass -f NAME (functions in {path}: {listing}), or --tests DIR / "
            "--input FILE to optimize the whole program"
        )
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
) -> OptimizeResult:
    """Optimize `targets` in the file at `path`. Never writes the file (see `write_result`).

    Returns status "optimized" (some group verified faster), "no_improvement", "error" (a bad
    input or a failure, with `error` set; nothing was changed) or "cancelled" (the `cancel` event
    was set; `resume(result.run_id)` continues). `backend` reuses an already-created generation
    backend; `checkpoint=False` skips the SQLite run database."""
    cfg = config
    start = time.perf_counter()
    try:
        cfg = cfg or FasterPyConfig.load(path)
        state = initial_state(path, targets, cfg, tests_dir=tests_dir, input_files=input_files)
    except FasterPyError as exc:
        return OptimizeResult(status="error", path=str(path), run_id="", mode="", error=str(exc),
                              seconds=time.perf_counter() - start)
    svc = Services(on_event=on_event, cancel=cancel, backend=backend)
    try:
        prepare_inputs(state, svc)
    except FasterPyError as exc:
        svc.close()
        return OptimizeResult(status="error", path=str(path), run_id="", mode=state["mode"], error=str(exc),
                              original_source=state["original_source"], new_source=state["original_source"],
                              seconds=time.perf_counter() - start)
    return run_state(state, svc, cfg.state_db_path() if checkpoint else None, start=start)


def prepare_inputs(state: PipelineState, svc: Services) -> None:
    """Check the verification inputs before a run is created: capture the target functions' calls
    from the driver (function mode; cached for the graph) or load the tests (program mode). A
    driver that crashes or never calls a target fails here, with nothing checkpointed."""
    if state["mode"] == "function":
        for group in state["groups"]:
            svc.captured(state, group)
    else:
        svc.tests(state)


def optimize_source(
    source: str,
    label: str = "program.py",
    targets: Sequence[str] = (),
    config: FasterPyConfig | None = None,
    services: Services | None = None,
    *,
    tests_dir: str | os.PathLike[str] | None = None,
    input_files: Sequence[str | os.PathLike[str]] = (),
    exclude_problems: Sequence[str] = (),
    key: str | None = None,
    checkpoint: bool = False,
) -> OptimizeResult:
    """Like `optimize`, for code that is not in a file (batch rows): program mode only."""
    start = time.perf_counter()
    cfg = config or FasterPyConfig.load()
    svc = services or Services()
    try:
        state = initial_state(label, targets, cfg, source=source, tests_dir=tests_dir, input_files=input_files,
                              exclude_problems=exclude_problems, key=key)
    except FasterPyError as exc:
        return OptimizeResult(status="error", path=label, run_id="", mode="program", error=str(exc),
                              seconds=time.perf_counter() - start)
    return run_state(state, svc, cfg.state_db_path() if checkpoint else None, start=start,
                     keep_services=services is not None)


def resume(
    run_id: str,
    on_event: EventSink | None = None,
    cancel: threading.Event | None = None,
    state_db: str | os.PathLike[str] | None = None,
    backend: Any = None,
) -> OptimizeResult:
    """Continue an interrupted run from its last finished node (or return a finished run's result)."""
    start = time.perf_counter()
    db = _default_db(state_db)
    if not db.exists():
        raise FasterPyError(f"no run database at {db} — start a run first, or pass --state-db")
    if not _has_run(db, run_id):  # answered without importing LangGraph
        raise FasterPyError(f"no run {run_id!r} in {db} — check the run id printed by the interrupted run")
    saver = open_checkpointer(db)
    try:
        graph = build_graph(checkpointer=saver)
        snap = graph.get_state({"configurable": {"thread_id": run_id}})
        values = snap.values if snap else None
        if not values or "original_source" not in values:
            raise FasterPyError(f"no run {run_id!r} in {db} — check the run id printed by the interrupted run")
    finally:
        saver.conn.close()
    path = values["path"]
    if Path(path).exists():
        current = Path(path).read_bytes().decode("utf-8", errors="replace")
        if current != values["original_source"]:
            raise FasterPyError(f"{path} changed since run {run_id} started — start a new run instead of resuming")
    svc = Services(on_event=on_event, cancel=cancel, backend=backend)
    return run_state(None, svc, db, start=start, run_id=run_id)


def _has_run(db: Path, run_id: str) -> bool:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (run_id,)).fetchone() is not None
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True  # not the layout we expect: let the checkpointer itself decide


def _default_db(state_db: str | os.PathLike[str] | None) -> Path:
    if state_db:
        return Path(state_db).expanduser()
    try:
        return FasterPyConfig.load().state_db_path()
    except FasterPyError:
        return FasterPyConfig.from_dict({}).state_db_path()


def run_state(
    state: PipelineState | None,
    svc: Services,
    db: Path | None,
    start: float | None = None,
    run_id: str | None = None,
    keep_services: bool = False,
) -> OptimizeResult:
    """Invoke the graph on a fresh state, or (state None) continue the checkpointed `run_id`."""
    start = time.perf_counter() if start is None else start
    run_id = run_id or (state or {}).get("run_id") or new_run_id()
    saver = open_checkpointer(db) if db is not None else None
    if saver is None:
        from langgraph.checkpoint.memory import InMemorySaver

        saver = InMemorySaver()
    graph = build_graph(checkpointer=saver, services=svc)
    thread = {"configurable": {"thread_id": run_id}}
    try:
        current = state if state is not None else graph.get_state(thread).values
        groups = len(current.get("groups") or [[]])
        attempts = int((current.get("config") or {}).get("attempts", 3))
        thread["recursion_limit"] = recursion_limit(groups, attempts)
        svc.emit("preprocess", f"run {run_id}: {current.get('path')}", None, run_id=run_id,
                 db=str(db) if db else None)
        try:
            if state is not None:
                graph.invoke(state, thread)
            elif graph.get_state(thread).next:
                graph.invoke(None, thread)
        except RunCancelled:
            svc.emit("done", f"cancelled — resume with `fasterpy optimize --resume {run_id}`", None,
                     status="cancelled", run_id=run_id)
            return _result(graph.get_state(thread).values, "cancelled", start, run_id)
        except FasterPyError as exc:
            svc.emit("done", f"error: {exc}", None, status="error")
            return _result(graph.get_state(thread).values or current, "error", start, run_id, error=str(exc))
        return _result(graph.get_state(thread).values, None, start, run_id)
    finally:
        svc.reset_run()
        if not keep_services:
            svc.close()
        conn = getattr(saver, "conn", None)
        if conn is not None:
            conn.close()


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
    if before == after:
        return ""
    name = Path(path).name or "file.py"
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(a, b, fromfile=f"a/{name}", tofile=f"b/{name}"):
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


# -- applying --------------------------------------------------------------------------------


def write_result(result: OptimizeResult) -> Path:
    """Apply an optimized result to its file: first a backup (FILE.bak, see `backup_path`), then the
    new source, each written atomically. Refuses when the file changed since it was read."""
    if result.status != "optimized" or result.new_source == result.original_source:
        raise FasterPyError("nothing to write: no verified improvement")
    path = Path(result.path)
    current = path.read_bytes()
    if current.decode("utf-8", errors="replace") != result.original_source:
        raise FasterPyError(f"{path} changed on disk during the run — nothing written; run again")
    backup = backup_path(path)
    atomic_write(backup, current, mode_from=path)
    atomic_write(path, result.new_source.encode("utf-8"))
    result.written_to = str(path)
    result.backup = str(backup)
    return backup
