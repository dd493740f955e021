"""Algorithm 2: from the top-m candidates above the threshold, keep the closest record, then the
k−1 records with the highest rate among those whose similarity is within Δs of the closest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kb.records import Record, Suggestion

KEPT_CLOSEST = "closest"
KEPT_RATE = "top rate within Δs"


@dataclass
class RetrievalParams:
    k: int = 2
    m: int = 10
    delta: float = 0.05
    threshold: float = 0.2

    def to_dict(self) -> dict[str, float]:
        return {"k": self.k, "m": self.m, "delta": self.delta, "threshold": self.threshold}


def select(candidates: Sequence[tuple[Record, float]], k: int, delta: float, threshold: float) -> list[Suggestion]:
    """Apply the threshold and Algorithm 2 to (record, similarity) pairs (any order)."""
    if k <= 0:
        return []
    cands = sorted((c for c in candidates if c[1] >= threshold), key=lambda c: (-c[1], c[0].id))
    if not cands:
        return []
    closest, top_sim = cands[0]
    out = [_suggest(closest, top_sim, KEPT_CLOSEST)]
    near = [c for c in cands[1:] if c[1] >= top_sim - delta]
    near.sort(key=lambda c: (-c[0].rate, -c[1], c[0].id))
    out.extend(_suggest(r, s, KEPT_RATE) for r, s in near[: k - 1])
    return out


def _suggest(r: Record, sim: float, why: str) -> Suggestion:
    return Suggestion(
        id=r.id,
        similarity=float(sim),
        rate=float(r.rate),
        summary=r.summary,
        problem_id=r.problem_id,
        source=r.source,
        kept_because=why,
    )
