"""What the review screens show, read from the pipeline's OptimizeResult.

One `TargetReview` per target: its suggestions, every attempt, and the best verified candidate
(if any). Proposed file text is always recomputed against the file as it is now, by splicing the
candidate's target into it, so accepting one target never invalidates the next one's diff."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.records import Suggestion


@dataclass
class VerdictView:
    status: str
    feedback: str = ""
    speedup: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    runtime_before: float | None = None
    runtime_after: float | None = None
    tests_passed: int = 0
    tests_total: int = 0

    @classmethod
    def of(cls, verdict: Any) -> VerdictView:
        if verdict is None:
            return cls(status="none")
        if isinstance(verdict, dict):
            get = verdict.get
        else:
            def get(name, default=None):
                return getattr(verdict, name, default)
        return cls(
            status=str(get("status", "none")),
            feedback=get("feedback", "") or "",
            speedup=get("speedup"),
            ci_low=get("ci_low"),
            ci_high=get("ci_high"),
            runtime_before=get("runtime_before"),
            runtime_after=get("runtime_after"),
            tests_passed=get("tests_passed", 0) or 0,
            tests_total=get("tests_total", 0) or 0,
        )


@dataclass
class AttemptView:
    target: str
    number: int
    status: str
    speedup: float | None
    feedback: str


@dataclass
class Candidate:
    target: str
    source: str  # a module containing the optimized target (spliced into the file on accept)
    verdict: VerdictView
    mode: str = ""  # how it was verified: "function" | "program"


@dataclass
class TargetReview:
    target: str  # display name ("a, b" when several targets were optimized together)
    targets: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    attempts: list[AttemptView] = field(default_factory=list)
    candidate: Candidate | None = None
    reason: str = ""  # why there is no candidate
    decision: str = "pending"  # pending | accepted | rejected


def as_suggestion(raw: Any) -> Suggestion:
    if isinstance(raw, Suggestion):
        return raw
    fields = Suggestion.__dataclass_fields__
    return Suggestion(**{k: v for k, v in dict(raw).items() if k in fields})


def reviews_from_result(result: Any) -> list[TargetReview]:
    """graph.result.OptimizeResult -> one review per target group, in the run's order."""
    reviews: list[TargetReview] = []
    for tr in result.targets:
        attempts = [
            AttemptView(a.target or tr.target, a.number, a.status, a.speedup, a.feedback) for a in tr.attempts
        ]
        candidate = None
        best = tr.best
        if best is not None and best.status == "accepted" and best.code:
            candidate = Candidate(tr.target, best.code, VerdictView.of(best), mode=result.mode)
        reason = "; ".join(tr.reasons) if tr.reasons else ("" if candidate else f"no verified improvement ({tr.status})")
        reviews.append(
            TargetReview(
                target=tr.target,
                targets=list(tr.targets) or [tr.target],
                suggestions=[as_suggestion(s) for s in tr.suggestions],
                attempts=attempts,
                candidate=candidate,
                reason=reason,
            )
        )
    return reviews
