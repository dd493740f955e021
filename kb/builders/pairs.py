"""A slow→fast pair as builders see it, before it is summarized and embedded."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any


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
    """difflib unified diff of slow → fast (the patch the summary prompt describes)."""
    return "".join(
        difflib.unified_diff(
            slow.splitlines(keepends=True), fast.splitlines(keepends=True), "slow.py", "fast.py", n=n
        )
    )
