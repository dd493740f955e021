"""The search's verified candidates as they arrive, before the run ends: each target's best so far.

UI-free. The main screen adds each CandidateVerified message's event and shows `reviews()`; a
decision taken on a live review (accepted, rejected) carries over to the next rebuild and to the
finished run's reviews (`carry_decisions`). Every candidate here was accepted by the verifier: the
pipeline sends no other kind (graph.pipeline.nodes.verify)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fasterpy_tui.review import Candidate, TargetReview, as_suggestion
from graph.events import CandidateEvent


def rank_key(attempt: Any) -> tuple[float, float]:
    """The order the pipeline's decide node picks the best by: CI lower bound, then speedup."""
    return (attempt.ci_low or 0.0, attempt.speedup or 0.0)


@dataclass
class LiveCandidates:
    found: list[CandidateEvent] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.found)

    @property
    def mode(self) -> str:
        return self.found[-1].mode if self.found else ""

    def best(self, target: str) -> CandidateEvent | None:
        ranked = self.ranked(target)
        return ranked[0] if ranked else None

    def ranked(self, target: str) -> list[CandidateEvent]:
        """`target`'s candidates, best first (arrival order among equals); identical code once."""
        seen: set[str] = set()
        out = []
        for event in sorted((e for e in self.found if e.target == target), key=lambda e: rank_key(e.attempt),
                            reverse=True):
            if event.attempt.code and event.attempt.code not in seen:
                seen.add(event.attempt.code)
                out.append(event)
        return out

    def add(self, event: CandidateEvent) -> bool:
        """Keep `event`; True when it is now its target's best."""
        self.found.append(event)
        return self.best(event.target) is event

    def reviews(self, suggestions: dict[str, list[Any]] | None = None) -> list[TargetReview]:
        """One review per verified candidate: targets in the order they got their first one, each
        target's best first (what `n`/`p` walk through, as after a finished run)."""
        out: list[TargetReview] = []
        for target in dict.fromkeys(e.target for e in self.found):
            ranked = self.ranked(target)
            for rank, event in enumerate(ranked, 1):
                a = event.attempt
                candidate = Candidate(target, a.code, a, mode=event.mode, label=f"candidate {a.number}.{a.candidate}")
                out.append(TargetReview(
                    target=target, targets=list(event.targets) or [target],
                    suggestions=[as_suggestion(s) for s in (suggestions or {}).get(target, [])],
                    candidate=candidate, rank=rank, of=len(ranked),
                ))
        return out


def review_key(review: TargetReview | None) -> tuple[str, str] | None:
    """What identifies a review's candidate across rebuilds: its target and its code."""
    if review is None or review.candidate is None:
        return None
    return (review.target, review.candidate.source)


def carry_decisions(old: list[TargetReview], new: list[TargetReview]) -> None:
    """A decision taken on a candidate stays with it in `new` (the same target and code)."""
    decided = {review_key(r): r.decision for r in old if r.candidate is not None and r.decision != "pending"}
    for review in new:
        key = review_key(review)
        if key in decided:
            review.decision = decided[key]
