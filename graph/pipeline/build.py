"""The compiled LangGraph: preprocess → retrieve → generate → verify → decide, with `route` sending
decide's outcome back to generate (retry with feedback), to preprocess (next target group) or to
the end. Nodes get their per-process helpers from the runtime context (`RunContext`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from graph.pipeline.context import RunContext
from graph.pipeline.state import PipelineState


def build_graph(checkpointer: Any = None) -> Any:
    """The compiled `StateGraph` over `PipelineState`. Invoke it with `graph.api.initial_state(...)`,
    `{"configurable": {"thread_id": run_id}}` when a checkpointer is given, and
    `context=RunContext(...)`, which the caller closes afterwards."""
    from langgraph.graph import END, START, StateGraph

    from graph.pipeline.nodes import NODES, route  # imports LangGraph: not at `fasterpy --help`

    g = StateGraph(PipelineState, context_schema=RunContext)
    for name, fn in NODES.items():
        g.add_node(name, fn)
    g.add_edge(START, "preprocess")
    g.add_edge("preprocess", "retrieve")
    g.add_edge("retrieve", "generate")
    g.add_edge("generate", "verify")
    g.add_edge("verify", "decide")
    g.add_conditional_edges("decide", route, ["generate", "preprocess", END])
    return g.compile(checkpointer=checkpointer)


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
