"""Progress events every pipeline node emits (consumed by the TUI and `--verbose`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProgressEvent:
    node: str  # "preprocess" | "retrieve" | "generate" | "verify" | "decide" | "done"
    message: str
    target: str | None = None
    step: int | None = None  # e.g. attempt n, or test x
    total: int | None = None  # of N / of y
    data: dict[str, Any] = field(default_factory=dict)


EventSink = Callable[[ProgressEvent], None]


def ignore_events(event: ProgressEvent) -> None:
    """The default sink."""
