"""Running the compiled graph against a checkpointer: a fresh run, the continuation of an
interrupted one (`--resume`), and reading a run back from the run database.

A run's thread id is its run id. Cancellation (`RunContext.cancel`) stops the run at a node
boundary; the checkpoint then holds every finished node, and running the same thread again with
no input continues from the first unfinished one."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.pipeline.build import build_graph, open_checkpointer, recursion_limit
from graph.pipeline.context import RunCancelled, RunContext
from graph.pipeline.state import PipelineState
from harness.errors import FasterPyError


@dataclass
class RunOutcome:
    values: dict[str, Any]  # the run's last checkpointed state
    status: str | None  # None: it ran to the end | "cancelled" | "error"
    error: str = ""


def run_graph(state: PipelineState | None, context: RunContext, db: Path | None, run_id: str) -> RunOutcome:
    """Invoke the graph on a fresh `state`, or (state None) continue the checkpointed `run_id`.
    `db` None keeps the checkpoints in memory (no resume). The caller owns `context`."""
    if db is not None:
        saver = open_checkpointer(db)
    else:
        from langgraph.checkpoint.memory import InMemorySaver

        saver = InMemorySaver()
    graph = build_graph(checkpointer=saver)
    thread: dict[str, Any] = {"configurable": {"thread_id": run_id}}
    try:
        current = state if state is not None else graph.get_state(thread).values
        groups = len(current.get("groups") or [[]])
        attempts = int((current.get("config") or {}).get("attempts", 3))
        thread["recursion_limit"] = recursion_limit(groups, attempts)
        context.emit("preprocess", f"run {run_id}: {current.get('path')}", None, run_id=run_id,
                     db=str(db) if db else None)
        try:
            # durability "sync": each step's checkpoint is on disk before the next step starts, so a
            # process killed mid-search (not only a cancelled one) resumes after its last finished node
            if state is not None:
                graph.invoke(state, thread, context=context, durability="sync")
            elif _due(graph.get_state(thread)):
                graph.invoke(None, thread, context=context, durability="sync")
        except RunCancelled:
            context.emit("done", f"cancelled — resume with `fasterpy optimize --resume {run_id}`", None,
                         status="cancelled", run_id=run_id)
            return RunOutcome(graph.get_state(thread).values, "cancelled")
        except FasterPyError as exc:
            context.emit("done", f"error: {exc}", None, status="error")
            return RunOutcome(graph.get_state(thread).values or dict(current), "error", str(exc))
        return RunOutcome(graph.get_state(thread).values, None)
    finally:
        conn = getattr(saver, "conn", None)
        if conn is not None:
            conn.close()


def load_run(db: Path, run_id: str) -> dict[str, Any]:
    """The checkpointed state of `run_id`; one-line errors for a missing database or run, and for a
    checkpoint this graph cannot continue (written by another shape of the pipeline)."""
    if not db.exists():
        raise FasterPyError(f"no run database at {db} — start a run first, or pass --state-db")
    if not _has_run(db, run_id):  # answered without importing LangGraph
        raise FasterPyError(f"no run {run_id!r} in {db} — check the run id printed by the interrupted run")
    saver = open_checkpointer(db)
    try:
        snap = build_graph(checkpointer=saver).get_state({"configurable": {"thread_id": run_id}})
    finally:
        saver.conn.close()
    values = snap.values if snap else None
    if not values or "original_source" not in values:
        raise FasterPyError(f"no run {run_id!r} in {db} — check the run id printed by the interrupted run")
    finished = len(values.get("results") or []) >= len(values.get("groups") or [[]])
    if not _due(snap) and not finished:  # stopped, yet no node of this graph is due to run
        raise FasterPyError(f"run {run_id} in {db} was saved by an incompatible version of fasterpy and "
                            "cannot be resumed — start a new run")
    return values


def _due(snap: Any) -> bool:
    """Whether a checkpoint has work left: a node due to run, or one that finished with its writes
    saved but no checkpoint after them (the process was killed in between; resuming applies them)."""
    return bool(snap.next or snap.tasks)


def _has_run(db: Path, run_id: str) -> bool:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (run_id,)).fetchone() is not None
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True  # not the layout we expect: let the checkpointer itself decide
