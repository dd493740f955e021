"""The search of issue 12: the cascade (rules, then a model) with the rules stacked on a model's
correct candidate, feedback that quotes the candidate and its failing case, the hot-line profile,
one verification per distinct program, and the time budget. No real model: the rules backend and
the replay backend (a JSONL of prepared candidates) stand in."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.cascade import CascadeBackend, stack
from graph.config import FasterPyConfig
from graph.pipeline import nodes
from graph.pipeline.context import RunContext
from graph.prompt import extract_code, feedback_note
from harness.verify import Verdict
from harness.verify.hotlines import hot_lines_program

SLOW = "n = int(input())\nseen = []\nfor i in range(n):\n    if i % 7 not in seen:\n        seen.append(i % 7)\nprint(len(seen))\n"
MODEL = "n = int(input())\ns = ''\nfor i in range(n):\n    s += str(i % 7)\nprint(len(set(s)))\n"


def _replay(tmp_path, candidates):
    path = tmp_path / "cands.jsonl"
    path.write_text(json.dumps({"problem_id": "p1", "input": SLOW, "generated_answers": candidates}) + "\n")
    return str(path)


def test_cascade_runs_rules_first_then_the_model_and_stacks_rules_on_a_model_candidate(tmp_path):
    cfg = GenerationConfig(backend="cascade", cascade=["rules", "replay"], model=_replay(tmp_path, [f"```python\n{MODEL}```"]), n=1)
    backend = CascadeBackend(cfg)
    assert [name for name, _ in backend.stages] == ["rules", "replay"] and backend.notice is None
    replies = backend.generate(GenerationRequest(messages=[], code=SLOW, key="p1"))
    sources = backend.last_stats.extra["sources"]
    assert sources[0] == "rules" and sources[-1] == "replay" and extract_code(replies[-1]) == MODEL
    # a later request of the same attempt (variant 1: the refinement) skips the free rules stage
    backend.generate(GenerationRequest(messages=[], code=SLOW, key="p1", feedback=["x"], variant=1))
    assert "rules" not in backend.last_stats.extra["sources"]
    # the pipeline's free round asks only the rules; the model's turn skips them
    assert backend.free_first
    backend.generate(GenerationRequest(messages=[], code=SLOW, key="p1", stages="free"))
    assert set(backend.last_stats.extra["sources"]) == {"rules"}
    backend.generate(GenerationRequest(messages=[], code=SLOW, key="p1", stages="paid"))
    assert set(backend.last_stats.extra["sources"]) == {"replay"}
    assert not CascadeBackend(GenerationConfig(backend="cascade", cascade=["rules"])).free_first
    stacked = stack(MODEL)
    assert stacked is not None and stacked.strip() != MODEL.strip()


def test_the_missing_model_is_named_once_with_how_to_install_it(monkeypatch):
    import graph.backends.models as models

    monkeypatch.setattr(models, "is_assembled", lambda m: False)
    monkeypatch.setattr(models, "missing_parts", lambda m: list(m.distributions))
    backend = CascadeBackend(GenerationConfig(backend="cascade"))
    assert [name for name, _ in backend.stages] == ["rules"]
    assert "\n" not in backend.notice
    assert "pip install 'fasterpy[qwen-1.5b]'" in backend.notice and "fasterpy models fetch qwen2.5-coder-1.5b" in backend.notice
    events = []
    ctx = RunContext(on_event=events.append)
    ctx.notice("generate", backend.notice)
    ctx.notice("generate", backend.notice)
    assert [e.message for e in events] == [backend.notice]


@pytest.mark.parametrize("status, failure, case, needle", [
    ("wrong_output", "Wrong output on test 1 of 2:\n-expected 7\n+got 3", "100\n", "Failing input: 100"),
    ("exception", "Traceback (most recent call last):\n  File x\nIndexError: list index out of range", "5\n", "IndexError"),
    ("slower", "correct but not faster", None, "1.02×"),
])
def test_feedback_quotes_the_candidate_and_the_failing_case(status, failure, case, needle):
    note = feedback_note(status, MODEL, failure, case, speedup=1.02, threshold=1.1)
    assert MODEL.strip().splitlines()[3] in note and needle in note and status in note
    if case is not None:
        assert f"Failing input: {case.strip()}" in note
    if status == "wrong_output":
        assert "expected 7" in note and "got 3" in note


def test_a_planted_hot_line_is_ranked_first():
    src = "n = int(input())\nx = 0\nfor i in range(n):\n    x += sum(j * j for j in range(300))\nprint(x)\n"
    hot = hot_lines_program(src, ["200\n"])
    assert hot[0].line == 4 and hot[0].share > 0.5


def _state(tmp_path, candidates, origins=None, **extra):
    inp = tmp_path / "in.txt"
    inp.write_text("50\n")
    cfg = FasterPyConfig.from_dict({"generation": {"backend": "rules"}, "use_retrieval": False, **extra})
    return {"groups": [[]], "group": 0, "attempt": 1, "candidates": candidates, "origins": origins or [],
            "attempts": [], "results": [], "source": SLOW, "original_source": SLOW, "mode": "program",
            "path": str(tmp_path / "p.py"), "config": cfg.to_dict(), "tests_dir": None, "input_files": [str(inp)],
            "context": SLOW, "suggestions": [], "feedback": [], "search_s": 0.0}


def test_the_same_program_is_verified_once(tmp_path, monkeypatch):
    import harness.verify as V

    calls = []

    def fake(original, candidate, *args, **kwargs):
        calls.append(candidate)
        return Verdict("slower", "correct but not faster", speedup=1.0, ci_low=0.9, ci_high=1.1)

    monkeypatch.setattr(V, "verify_program", fake)
    same = "n = int(input())  # a comment\nprint( n%7 )\n"
    state = _state(tmp_path, [same, "n = int(input())\nprint(n % 7)\n", same])
    out = nodes.verify(state, SimpleNamespace(context=RunContext()))
    assert len(calls) == 1 and len(out["attempts"]) == 3
    assert [bool(a.get("duplicate")) for a in out["attempts"]] == [False, True, True]


def test_a_correct_model_candidate_gets_the_rules_stacked_on_it(tmp_path, monkeypatch):
    import harness.verify as V

    calls = []
    monkeypatch.setattr(V, "verify_program", lambda o, c, *a, **k: calls.append(c) or Verdict(
        "slower", "correct but not faster", speedup=1.05, ci_low=1.0, ci_high=1.1))
    out = nodes.verify(_state(tmp_path, [MODEL], ["replay"]), SimpleNamespace(context=RunContext()))
    assert [a["origin"] for a in out["attempts"]] == ["replay", "stacked"] and len(calls) == 2


def test_the_budget_stops_the_search(tmp_path):
    state = _state(tmp_path, [], attempts=5, budget_s=1.0)
    state["search_s"] = 2.5
    state["attempts"] = [{"target": "program", "number": 1, "candidate": 1, "status": "slower", "feedback": "x",
                          "speedup": 1.0, "code": MODEL, "candidate_code": MODEL}]
    events = []
    out = nodes.decide(state, SimpleNamespace(context=RunContext(on_event=events.append)))
    assert out["results"][0]["status"] == "no_improvement"  # attempt 1 of 5, but the budget is spent
    assert any(e.data.get("status") == "budget" for e in events)
    state["search_s"] = 0.0
    assert nodes.decide(state, SimpleNamespace(context=RunContext()))["attempt"] == 2


def test_an_attempt_that_would_end_past_the_budget_is_not_started(tmp_path):
    state = _state(tmp_path, [], attempts=5, budget_s=180.0)
    state["attempt"] = 2
    state["attempts"] = [{"target": "program", "number": n, "candidate": 1, "status": "slower", "feedback": "x",
                          "speedup": 1.0, "code": MODEL, "candidate_code": MODEL} for n in (1, 2)]
    state["search_s"] = 140.0  # two attempts of ~70 s: a third would end at ~210 s
    out = nodes.decide(state, SimpleNamespace(context=RunContext()))
    assert out["results"][0]["status"] == "no_improvement"
    state["search_s"] = 100.0  # two of ~50 s: a third ends at ~150 s, inside the budget
    assert nodes.decide(state, SimpleNamespace(context=RunContext()))["attempt"] == 3
