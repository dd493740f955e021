"""The offline rewrite engine: semantics-preserving AST rewrites, one module per rewrite."""

from graph.backends.rules.engine import REWRITES, Candidate, applicable, apply_rewrites, candidates

__all__ = ["REWRITES", "Candidate", "apply_rewrites", "applicable", "candidates"]
