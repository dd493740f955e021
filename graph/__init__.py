"""The LangGraph optimization pipeline: state, nodes, generation backends and the prompt."""
