"""The verify node hands each accepted candidate to the run context's `on_candidate` as soon as it
is verified (what the TUI shows while the search goes on): one event per accepted candidate, in
order, none for a rejected one or for a repeat of a program already judged. Real verification, in
program mode: a quadratic program against much faster rewrites."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.config import FasterPyConfig
from graph.events import CandidateEvent
from graph.pipeline import nodes
from graph.pipeline.context import RunContext

SLOW = "n = int(input())\nseen = []\nfor i in range(n):\n    if i not in seen:\n        seen.append(i)\nprint(len(seen))\n"
FAST = "n = int(input())\nprint(len(set(range(n))))\n"
SAME_AS_FAST = "n = int( input() )\nprint(len(set(range(n))))  # the same program, formatted otherwise\n"
WRONG = "n = int(input())\nprint(n + 1)\n"
FASTER = "n = int(input())\nprint(n)\n"


def _state(tmp_path, candidates):
    inp = tmp_path / "in.txt"
    inp.write_text("4000\n")
    cfg = FasterPyConfig.from_dict({"generation": {"backend": "rules"}, "use_retrieval": False, "repeats": 4})
    return {"run_id": "r1", "groups": [[]], "group": 0, "attempt": 1, "candidates": candidates,
            "origins": [""] * len(candidates), "attempts": [], "results": [], "source": SLOW, "original_source": SLOW,
            "mode": "program", "path": str(tmp_path / "p.py"), "config": cfg.to_dict(), "tests_dir": None,
            "input_files": [str(inp)], "context": SLOW, "suggestions": [], "feedback": [], "search_s": 0.0}


def test_verify_sends_each_accepted_candidate_once(tmp_path):
    got: list[CandidateEvent] = []
    with RunContext(on_candidate=got.append) as ctx:
        out = nodes.verify(_state(tmp_path, [FAST, WRONG, SAME_AS_FAST, FASTER]), Runtime(context=ctx))
    records = out["attempts"]
    assert [r["status"] for r in records] == ["accepted", "wrong_output", "accepted", "accepted"], \
        [(r["status"], r["feedback"][:80]) for r in records]
    assert [bool(r.get("duplicate")) for r in records] == [False, False, True, False]
    assert [e.attempt.candidate for e in got] == [1, 4]  # the repeat of candidate 1 is not sent again
    assert [e.attempt.code for e in got] == [FAST, FASTER]
    for event in got:
        assert (event.target, event.targets, event.mode, event.run_id) == ("program", (), "program", "r1")
        assert event.attempt.accepted and event.attempt.speedup and event.attempt.ci_low > 1.1


def test_a_run_without_a_candidate_sink_still_verifies(tmp_path):
    with RunContext() as ctx:  # the default sink ignores candidates
        out = nodes.verify(_state(tmp_path, [WRONG]), Runtime(context=ctx))
    assert [r["status"] for r in out["attempts"]] == ["wrong_output"]
