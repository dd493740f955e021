"""The search of issue 12 through the real loop (graph, `openai` backend against a local scripted
server, sandboxed verification): the next prompt quotes each rejected candidate with the call it
failed on, a repeated program is judged once across attempts, and the time budget ends the loop."""

from __future__ import annotations

import pytest

from graph.api import optimize
from graph.config import FasterPyConfig

CODE = '''def dedupe(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


if __name__ == "__main__":
    print(len(dedupe([i % 7 for i in range(60)])))
    print(len(dedupe([3, 1, 3])))
'''

WRONG = "```python\ndef dedupe(xs):\n    return sorted(set(xs), reverse=True)\n```"
WRONG_AGAIN = "```python\ndef dedupe(xs):  # the same program, laid out differently\n    return sorted( set(xs),reverse=True )\n```"
RAISES = "```python\ndef dedupe(xs):\n    return [xs[len(xs)]]\n```"


@pytest.fixture(autouse=True)
def _api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def _run(tmp_path, server, events=None, **settings):
    program = tmp_path / "dedupe.py"
    program.write_text(CODE)
    cfg = FasterPyConfig.load(tmp_path, {
        "generation.backend": "openai", "generation.base_url": server.base_url, "generation.model": "scripted",
        "candidates": 1, "repeats": 4, "use_retrieval": False, "state_db": str(tmp_path / "runs.sqlite"), **settings})
    return optimize(program, ["dedupe"], cfg, on_event=events.append if events is not None else None)


def _user_turn(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


def test_the_next_prompt_quotes_each_rejected_candidate_with_its_failing_call(tmp_path, scripted_server):
    server = scripted_server([WRONG, RAISES, RAISES])
    result = _run(tmp_path, server, attempts=3)
    assert [a.status for a in result.attempts][:2] == ["wrong_output", "exception"]
    after_wrong, after_raise = _user_turn(server.requests[1]), _user_turn(server.requests[2])
    assert "sorted(set(xs), reverse=True)" in after_wrong  # the candidate itself
    assert "dedupe called with positional arguments" in after_wrong  # the captured call it failed on
    assert "[0, 1, 2, 3, 4, 5, 6" in after_wrong or "[3, 1, 3]" in after_wrong
    assert "xs[len(xs)]" in after_raise and "IndexError" in after_raise
    assert "dedupe called with positional arguments" in after_raise


def test_a_repeated_program_is_judged_once_across_attempts(tmp_path, scripted_server):
    server = scripted_server([WRONG, WRONG_AGAIN])
    events: list = []
    result = _run(tmp_path, server, events, attempts=2)
    assert len(server.requests) == 2 and [a.status for a in result.attempts] == ["wrong_output", "wrong_output"]
    verdicts = [e for e in events if e.node == "verify" and e.data.get("status")]
    assert ["same program" in e.message for e in verdicts] == [False, True]
    assert result.attempts[1].feedback == result.attempts[0].feedback  # the first verdict, reused


def test_the_time_budget_ends_the_search_before_the_attempt_limit(tmp_path, scripted_server):
    server = scripted_server([WRONG])
    events: list = []
    result = _run(tmp_path, server, events, attempts=5, budget_s=0.001)  # any generation + verification spends it
    assert result.status == "no_improvement" and len(server.requests) == 1
    assert [a.number for a in result.attempts] == [1]
    assert any(e.node == "decide" and e.data.get("status") == "budget" for e in events)


MODEL = ("```python\ndef dedupe(xs):\n    out = []\n    seen = set()\n    for x in xs:\n        if x not in seen:\n"
         "            seen.add(x)\n            out.append(x)\n    return out\n```")


def test_the_cascade_runs_rules_then_the_model_and_verifies_the_rules_stacked_on_its_candidate(tmp_path, scripted_server):
    server = scripted_server([MODEL])
    events: list = []
    result = _run(tmp_path, server, events, attempts=1, early_stop=1000,  # no rules win is clear enough
                  **{"generation.backend": "cascade", "generation.cascade": ["rules", "openai"]})
    origins = [e.data.get("origin") for e in events if e.node == "verify" and e.data.get("status")]
    assert origins[0] == "rules" and origins[-2:] == ["openai", "stacked"] and len(server.requests) == 1
    # the rules' round and the model's candidates share attempt 1, numbered on
    assert [a.number for a in result.attempts] == [1] * len(result.attempts)
    assert [a.candidate for a in result.attempts] == list(range(1, len(result.attempts) + 1))
    stacked = [a for a in result.attempts if "out_append = out.append" in (a.code or "")]
    assert stacked and stacked[-1].status in ("accepted", "slower") and stacked[-1].tests_passed > 0  # really run


FIB = """def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


if __name__ == "__main__":
    print(fib(20), fib(21))
"""


def test_a_clear_rules_win_ends_the_search_before_the_model_is_asked(tmp_path, scripted_server):
    server = scripted_server([MODEL])
    program = tmp_path / "fib.py"
    program.write_text(FIB)
    cfg = FasterPyConfig.load(tmp_path, {
        "generation.backend": "cascade", "generation.cascade": ["rules", "openai"],
        "generation.base_url": server.base_url, "generation.model": "scripted", "candidates": 1, "repeats": 4,
        "attempts": 3, "use_retrieval": False, "state_db": str(tmp_path / "runs.sqlite")})
    events: list = []
    result = optimize(program, ["fib"], cfg, on_event=events.append)
    assert result.status == "optimized" and "cache" in result.new_source  # memoize: exponential → linear
    assert server.requests == []  # the model was never asked
    assert {a.number for a in result.attempts} == {1}
    best = max(a.ci_low or 0 for a in result.attempts if a.accepted)
    assert best >= cfg.early_stop * cfg.speedup_threshold


def test_rules_that_do_not_clearly_win_still_leave_the_model_its_turn(tmp_path, scripted_server):
    server = scripted_server([MODEL])
    events: list = []
    result = _run(tmp_path, server, events, attempts=1, **{"generation.backend": "cascade",
                                                           "generation.cascade": ["rules", "openai"]})
    decided = [e.message for e in events if e.node == "decide"]
    # the rules' only rewrite of dedupe hoists a method lookup: never a clear win
    assert any("asking the model" in m for m in decided) and len(server.requests) == 1
    assert len(result.attempts) >= 2  # the rules' candidate and the model's, both judged
    assert "openai" in [e.data.get("origin") for e in events if e.node == "verify" and e.data.get("status")]
