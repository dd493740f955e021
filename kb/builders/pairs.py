"""A slow→fast pair as builders see it, before it is summarized and embedded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.textdiff import unified_diff as _text_diff


@dataclass
class Pair:
    key: str  # stable id, so interrupted builds resume (e.g. "pie-dev:17")
    slow: str
    fast: str
    rate: float | None  # runtime_slow / runtime_fast; None = measure with the harness
    problem_id: str = ""
    source: str = ""
    summary: str = ""  # a given (e.g. human-validated) summary; empty = summarize the diff
    summarizer: str = ""
    tests: list[tuple[str, str]] = field(default_factory=list)  # (stdin, expected stdout) for measuring
    meta: dict[str, Any] = field(default_factory=dict)


def unified_diff(slow: str, fast: str, n: int = 3) -> str:
    """The unified diff of slow → fast (the patch the summary prompt describes), as the shipped
    knowledge base's summaries were built: without no-newline markers."""
    return _text_diff(slow, fast, "slow.py", "fast.py", n=n, newline_marker=False)
