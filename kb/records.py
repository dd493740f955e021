"""The records a knowledge base holds and the suggestions retrieval returns (paper Table 1)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Record:
    """One slow→fast pair. `slow_code` and `target` are kept for building and training only:
    they never go into a generation prompt (paper §4.5)."""

    id: int
    summary: str
    rate: float
    slow_code: str
    slow_code_len: int = 0
    target: str = ""
    source: str = ""  # e.g. "pie-dev", "mercury", "enamel", "user"
    problem_id: str = ""  # problem/task id, used for leak-free exclusion
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Suggestion:
    """A retrieved record as the prompt sees it: applicability (similarity), rate and text."""

    id: int
    similarity: float
    rate: float
    summary: str
    problem_id: str = ""
    source: str = ""
    kept_because: str = ""  # "closest" | "top rate within Δs" — shown by the TUI

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
