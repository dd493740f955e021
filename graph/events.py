"""Progress events every pipeline node emits (consumed by the TUI and `--verbose`), and the event
the verify node sends for each candidate it accepts, the moment it is verified (the TUI shows the
best so far while the search goes on)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.result import Attempt


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


@dataclass(frozen=True)
class CandidateEvent:
    """A candidate the verifier accepted, sent before the run ends. `attempt.code` is the whole
    file with the candidate spliced in (what an accept writes, after splicing `targets` again into
    the file as it is then); a duplicate of a candidate already judged is not sent again."""

    target: str  # the group's label ("a, b" for several targets optimized together; "program")
    targets: tuple[str, ...]  # the group's function names (empty in program mode)
    attempt: Attempt  # the verdict's evidence: speedup, CI, checks, coverage, runtimes
    mode: str  # "function" | "program": how it was verified
    run_id: str = ""


CandidateSink = Callable[[CandidateEvent], None]


def ignore_candidates(candidate: CandidateEvent) -> None:
    """The default candidate sink."""
