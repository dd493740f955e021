"""Sandboxed execution, timing, correctness and metrics. Imports nothing from graph or the TUI."""
