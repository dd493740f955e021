"""What the review screens show, read from the pipeline's OptimizeResult.

One `TargetReview` per target: its suggestions, every attempt, and the best verified candidate
(if any). Proposed file text is always recomputed against the file as it is now, by splicing the
candidate's target into it, so accepting one target never invalidates the next one's diff."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.result import Attempt
from kb.records import Suggestion


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
    verdict: Attempt  # the verifier's evidence for this candidate (graph.result.Attempt)
    mode: str = ""  # how it was verified: "function" | "program"
    label: str = ""  # "candidate 1.2": attempt 1, its 2nd candidate


@dataclass
class TargetReview:
    target: str  # display name ("a, b" when several targets were optimized together)
    targets: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    attempts: list[AttemptView] = field(default_factory=list)
    candidate: Candidate | None = None
    reason: str = ""  # why there is no candidate
    decision: str = "pending"  # pending | accepted | rejected
    rank: int = 1  # this candidate's place among the target's verified candidates (1 = best)
    of: int = 1

    @property
    def title(self) -> str:
        if self.candidate is None or self.of <= 1:
            return self.target
        return f"{self.target} · {self.candidate.label} ({self.rank}/{self.of})"


def as_suggestion(raw: Any) -> Suggestion:
    if isinstance(raw, Suggestion):
        return raw
    fields = Suggestion.__dataclass_fields__
    return Suggestion(**{k: v for k, v in dict(raw).items() if k in fields})


def verified_candidates(tr: Any) -> list[Any]:
    """A target's verified attempts, the pipeline's pick (`best`) first, then by CI lower bound;
    identical code is listed once."""
    accepted = [a for a in tr.attempts if a.status == "accepted" and a.code]
    if tr.best is not None and tr.best.status == "accepted" and tr.best.code:
        accepted = [tr.best] + [a for a in accepted if a is not tr.best]
    first, rest = accepted[:1], sorted(accepted[1:], key=lambda a: -(a.ci_low or 0.0))
    seen: set[str] = set()
    out = []
    for a in first + rest:
        if a.code not in seen:
            seen.add(a.code)
            out.append(a)
    return out


def reviews_from_result(result: Any) -> list[TargetReview]:
    """graph.result.OptimizeResult -> the review items `n`/`p` walk through: each target group's
    verified candidates (best first), or one item saying why the group has none."""
    reviews: list[TargetReview] = []
    for tr in result.targets:
        attempts = [
            AttemptView(a.target or tr.target, a.number, a.status, a.speedup, a.feedback) for a in tr.attempts
        ]
        common = dict(
            target=tr.target,
            targets=list(tr.targets) or [tr.target],
            suggestions=[as_suggestion(s) for s in tr.suggestions],
            attempts=attempts,
        )
        verified = verified_candidates(tr)
        if not verified:
            reason = "; ".join(tr.reasons) if tr.reasons else f"no verified improvement ({tr.status})"
            reviews.append(TargetReview(**common, reason=reason))
            continue
        for rank, a in enumerate(verified, 1):
            candidate = Candidate(tr.target, a.code, a, mode=result.mode,
                                  label=f"candidate {a.number}.{a.candidate}")
            reviews.append(TargetReview(**common, candidate=candidate, rank=rank, of=len(verified)))
    return reviews
