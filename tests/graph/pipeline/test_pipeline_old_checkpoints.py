"""Checkpoints written before the pipeline moved to `graph/pipeline/` (plain last-value lists, a
`next` field that decide wrote and the conditional edge read, `group` advanced by decide) still
resume; a checkpoint this graph cannot continue is refused with one line naming the run."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypedDict

import pytest

from graph.api import initial_state, resume
from graph.config import FasterPyConfig
from graph.pipeline.build import open_checkpointer
from graph.result import Attempt, TargetResult
from harness.errors import FasterPyError


class _Stop(Exception):
    """Ends the old-shape run at a node boundary, as Esc / Ctrl-C did."""


class PreMoveState(TypedDict, total=False):
    """graph/state.py's PipelineState before the move: every field a plain last value."""

    run_id: str
    path: str
    mode: str
    config: dict[str, Any]
    original_source: str
    tests_dir: str | None
    input_files: list[str]
    exclude_problems: list[str]
    key: str | None
    groups: list[list[str]]
    source: str
    group: int
    results: list[dict[str, Any]]
    context: str
    suggestions: list[dict[str, Any]]
    attempt: int
    candidates: list[str | None]
    attempts: list[dict[str, Any]]
    feedback: list[str]
    next: str


def _no_code(state: PreMoveState) -> dict[str, Any]:
    label = ", ".join(state["groups"][state["group"]])
    return asdict(Attempt(target=label, number=state["attempt"], candidate=1, status="no_code",
                          feedback="the reply held no code"))


def run_pre_move_graph(db, state: PreMoveState, stop_before: str, finish_first_group: bool) -> None:
    """Run the pre-move graph shape (same node names and edges, decide routing through `next`) on
    `state` until the first group is decided, then stop when `stop_before` is about to run again."""
    from langgraph.graph import END, START, StateGraph

    calls: dict[str, int] = {}

    def node(name: str, update):
        def fn(s: PreMoveState) -> dict[str, Any]:
            calls[name] = calls.get(name, 0) + 1
            if name == stop_before and calls[name] == 2:
                raise _Stop
            return update(s)
        return fn

    def decide(s: PreMoveState) -> dict[str, Any]:
        if not finish_first_group:  # retry with the feedback: the old decide concatenated it by hand
            return {"attempt": s["attempt"] + 1, "feedback": list(s["feedback"]) + ["candidate 1.1 (no_code): no code"],
                    "candidates": [], "next": "generate"}
        label = ", ".join(s["groups"][s["group"]])
        result = TargetResult(target=label, targets=list(s["groups"][s["group"]]), status="no_improvement",
                              attempts=[Attempt.from_dict(a) for a in s["attempts"]], reasons=["no_code: no code"])
        return {"results": list(s["results"]) + [asdict(result)], "group": s["group"] + 1, "next": "preprocess"}

    g = StateGraph(PreMoveState)
    g.add_node("preprocess", node("preprocess", lambda s: {"context": s["source"], "suggestions": [], "attempt": 1,
                                                           "candidates": [], "attempts": [], "feedback": [],
                                                           "next": ""}))
    g.add_node("retrieve", node("retrieve", lambda s: {"suggestions": []}))
    g.add_node("generate", node("generate", lambda s: {"candidates": [None]}))
    g.add_node("verify", node("verify", lambda s: {"attempts": list(s["attempts"]) + [_no_code(s)]}))
    g.add_node("decide", node("decide", decide))
    g.add_edge(START, "preprocess")
    g.add_edge("preprocess", "retrieve")
    g.add_edge("retrieve", "generate")
    g.add_edge("generate", "verify")
    g.add_edge("verify", "decide")
    g.add_conditional_edges("decide", lambda s: s.get("next") or "end",
                            {"generate": "generate", "preprocess": "preprocess", "end": END})
    saver = open_checkpointer(db)
    try:
        with pytest.raises(_Stop):
            g.compile(checkpointer=saver).invoke(state, {"configurable": {"thread_id": state["run_id"]}})
    finally:
        saver.conn.close()


def test_pre_move_checkpoint_between_groups_resumes(slow_stats, tmp_path):
    db = tmp_path / "runs.sqlite"
    cfg = FasterPyConfig.load(slow_stats, {"state_db": str(db), "mode": "each", "attempts": 1})
    state = initial_state(slow_stats, ["pairwise_close", "running_means"], cfg)
    run_pre_move_graph(db, state, stop_before="preprocess", finish_first_group=True)

    nodes: list[tuple[str, str | None]] = []
    result = resume(state["run_id"], on_event=lambda e: nodes.append((e.node, e.target)), state_db=db)
    assert [t.target for t in result.targets] == ["pairwise_close", "running_means"]
    assert result.targets[0].status == "no_improvement"  # decided by the old run, kept as it was
    assert result.targets[1].attempts and result.targets[1].attempts[0].target == "running_means"
    assert ("preprocess", "pairwise_close") not in nodes and ("preprocess", "running_means") in nodes
    assert nodes[-1][0] == "done" and result.status in ("optimized", "no_improvement")


def test_pre_move_checkpoint_mid_retry_resumes(slow_stats, tmp_path):
    db = tmp_path / "runs.sqlite"
    cfg = FasterPyConfig.load(slow_stats, {"state_db": str(db), "attempts": 2})
    state = initial_state(slow_stats, ["pairwise_close"], cfg)
    run_pre_move_graph(db, state, stop_before="generate", finish_first_group=False)

    nodes: list[str] = []
    result = resume(state["run_id"], on_event=lambda e: nodes.append(e.node), state_db=db)
    assert result.status == "optimized", [a.feedback for a in result.attempts]
    assert "preprocess" not in [n for n in nodes[1:]] and nodes[1] == "generate"  # nodes[0]: the run line
    # the old run's attempt 1 is kept; attempt 2 was appended by the new reducer
    assert [a.number for a in result.attempts][0] == 1 and {a.number for a in result.attempts} == {1, 2}
    assert result.attempts[0].status == "no_code"


def test_checkpoint_this_graph_cannot_continue_is_refused(slow_stats, tmp_path):
    """A run stopped before a node this graph does not have: nothing is due, yet groups are open."""
    from langgraph.graph import START, StateGraph

    db = tmp_path / "runs.sqlite"
    cfg = FasterPyConfig.load(slow_stats, {"state_db": str(db)})
    state = initial_state(slow_stats, ["pairwise_close"], cfg)

    def legacy(s: PreMoveState) -> dict[str, Any]:
        raise _Stop

    g = StateGraph(PreMoveState)
    g.add_node("setup", lambda s: {"next": ""})
    g.add_node("legacy", legacy)
    g.add_edge(START, "setup")
    g.add_edge("setup", "legacy")
    saver = open_checkpointer(db)
    try:
        with pytest.raises(_Stop):
            g.compile(checkpointer=saver).invoke(state, {"configurable": {"thread_id": state["run_id"]}})
    finally:
        saver.conn.close()

    with pytest.raises(FasterPyError) as err:
        resume(state["run_id"], state_db=db)
    message = str(err.value)
    assert state["run_id"] in message and "start a new run" in message and "\n" not in message
