"""The LangGraph pipeline: its state, its nodes and the compiled graph."""
