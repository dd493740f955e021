"""The compiled LangGraph: preprocess → retrieve → generate → verify → decide, with decide routing
back to generate (retry with feedback), to preprocess (next target group) or to the end."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from graph.events import EventSink
from graph.nodes import Services, make_nodes
from graph.state import PipelineState


def _route(state: PipelineState) -> str:
    return state.get("next") or "end"


def build_graph(
    on_event: EventSink | None = None,
    cancel: threading.Event | None = None,
    checkpointer: Any = None,
    services: Services | None = None,
) -> Any:
    """The compiled `StateGraph` over `PipelineState`. Invoke it with `graph.api.initial_state(...)`
    and `{"configurable": {"thread_id": run_id}}` when a checkpointer is given."""
    from langgraph.graph import END, START, StateGraph

    svc = services or Services(on_event=on_event, cancel=cancel)
    nodes = make_nodes(svc)
    g = StateGraph(PipelineState)
    for name, fn in nodes.items():
        g.add_node(name, fn)
    g.add_edge(START, "preprocess")
    g.add_edge("preprocess", "retrieve")
    g.add_edge("retrieve", "generate")
    g.add_edge("generate", "verify")
    g.add_edge("verify", "decide")
    g.add_conditional_edges("decide", _route, {"generate": "generate", "preprocess": "preprocess", "end": END})
    compiled = g.compile(checkpointer=checkpointer)
    compiled.services = svc  # type: ignore[attr-defined]  # lets callers close the KB afterwards
    return compiled


def open_checkpointer(db_path: str | Path) -> Any:
    """A SqliteSaver on `db_path` (created if missing). The connection is shared with the graph's
    worker threads, hence check_same_thread=False; SqliteSaver serialises access with its own lock."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(db_path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def recursion_limit(groups: int, attempts: int) -> int:
    """Supersteps a run needs: per group preprocess+retrieve, then generate+verify+decide per attempt."""
    return groups * (2 + 3 * attempts) + 10
