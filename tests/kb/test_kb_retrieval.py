"""Algorithm 2 on a hand-built knowledge base with known vectors (real hnswlib + SQLite)."""

from __future__ import annotations

import numpy as np
import pytest

from kb.records import Record
from kb.retrieval import KEPT_CLOSEST, KEPT_RATE, select
from kb.store import KnowledgeBase


class TableEmbedder:
    """An embedder whose vectors are given up front: code strings name 2-d directions."""

    name = "table"
    dim = 2

    def embed(self, codes):
        out = []
        for c in codes:
            angle = float(c)  # the "code" is an angle in degrees
            out.append([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
        return np.asarray(out, dtype=np.float32)


# similarity to the query "0" is cos(angle)
ROWS = [  # (angle, rate, problem)
    (0.0, 1.2, "A"),  # sim 1.000 → the closest
    (10.0, 5.0, "B"),  # sim 0.985
    (15.0, 9.0, "C"),  # sim 0.966
    (20.0, 50.0, "D"),  # sim 0.940 → outside Δs = 0.05
    (80.0, 99.0, "E"),  # sim 0.174 → below the threshold
]


@pytest.fixture()
def kb(tmp_path):
    kb = KnowledgeBase.create(tmp_path / "kb", embedder=TableEmbedder())
    kb.add([Record(id=0, summary=f"1. tip {p}", rate=r, slow_code=str(a), problem_id=p, source="hand")
            for a, r, p in ROWS])
    return kb


def test_closest_then_best_rate_within_delta(kb):
    got = kb.retrieve("0", k=2, m=5, delta=0.05, threshold=0.5)
    assert [s.problem_id for s in got] == ["A", "C"]
    assert [s.kept_because for s in got] == [KEPT_CLOSEST, KEPT_RATE]
    assert got[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert got[1].similarity == pytest.approx(np.cos(np.radians(15)), abs=1e-4)
    got3 = kb.retrieve("0", k=3, m=5, delta=0.05, threshold=0.5)
    assert [s.problem_id for s in got3] == ["A", "C", "B"]


def test_wider_delta_threshold_m_and_exclusion(kb):
    assert [s.problem_id for s in kb.retrieve("0", k=2, m=5, delta=0.1, threshold=0.5)] == ["A", "D"]
    # the threshold drops E even with a huge Δs
    assert [s.problem_id for s in kb.retrieve("0", k=2, m=5, delta=2.0, threshold=0.5)] == ["A", "D"]
    assert [s.problem_id for s in kb.retrieve("0", k=2, m=5, delta=2.0, threshold=-1.0)] == ["A", "E"]
    # m limits the candidates before the filter: only A and B are seen
    assert [s.problem_id for s in kb.retrieve("0", k=2, m=2, delta=1.0, threshold=0.0)] == ["A", "B"]
    # excluding the closest problem makes B the anchor; C is within Δs of B and has the higher rate
    got = kb.retrieve("0", k=2, m=5, delta=0.05, threshold=0.5, exclude_problems=["A"])
    assert [s.problem_id for s in got] == ["B", "C"]
    assert kb.retrieve("0", k=2, threshold=0.999, exclude_problems=["A"]) == []


def test_select_pure_function():
    recs = [Record(id=i, summary="", rate=rate, slow_code="") for i, rate in enumerate([1.0, 3.0, 2.0])]
    out = select([(recs[2], 0.8), (recs[0], 0.9), (recs[1], 0.86)], k=2, delta=0.05, threshold=0.0)
    assert [s.id for s in out] == [0, 1]
    assert select([(recs[0], 0.1)], k=2, delta=0.05, threshold=0.2) == []
    assert select([(recs[0], 0.9)], k=0, delta=0.05, threshold=0.0) == []
