"""The LangGraph pipeline, all of it: `state` (the checkpointed state and its reducers), `context`
(the runtime context: what a checkpoint cannot hold), `nodes` (the nodes and the routing function),
`build` (the compiled graph, the SQLite checkpointer) and `run` (running, resuming, reading a run)."""
