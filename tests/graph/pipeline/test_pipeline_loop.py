"""The verify loop: a wrong candidate is fed back and retried up to the limit; a later correct one is
accepted. The real graph, the real `openai` backend, a real local HTTP server and the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.api import optimize
from graph.config import FasterPyConfig

# a list used as a set: the program every search test optimizes (shared with the other pipeline tests)
CODE = (Path(__file__).resolve().parents[2] / "fixtures" / "dedupe_program.py").read_text(encoding="utf-8")

WRONG = "Here you go:\n```python\ndef dedupe(xs):\n    return sorted(set(xs), reverse=True)\n```\n"
RIGHT = "```python\ndef dedupe(xs):\n    return list(dict.fromkeys(xs))\n```"


def _config(tmp_path, server, attempts: int) -> FasterPyConfig:
    return FasterPyConfig.load(tmp_path, {
        "generation.backend": "openai", "generation.base_url": server.base_url, "generation.model": "scripted",
        "attempts": attempts, "candidates": 1, "use_retrieval": False, "state_db": str(tmp_path / "runs.sqlite"),
    })


@pytest.fixture
def program(tmp_path):
    p = tmp_path / "dedupe.py"
    p.write_text(CODE)
    return p


@pytest.fixture(autouse=True)
def _api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def _user_turn(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


def test_loops_on_a_wrong_candidate_and_stops_at_the_limit(tmp_path, program, scripted_server):
    server = scripted_server([WRONG])
    events = []
    result = optimize(program, ["dedupe"], _config(tmp_path, server, attempts=3), on_event=events.append)
    assert result.status == "no_improvement" and result.exit_code == 1
    assert len(server.requests) == 3  # one generation per attempt, then stop
    assert [a.number for a in result.attempts] == [1, 2, 3]
    assert {a.status for a in result.attempts} == {"wrong_output"}
    # attempt 1 is prompted without feedback; later attempts carry the verifier's message
    assert "rejected by the verifier" not in _user_turn(server.requests[0])
    assert "rejected by the verifier" in _user_turn(server.requests[1])
    assert "wrong_output" in _user_turn(server.requests[2])
    assert result.targets[0].reasons and result.targets[0].best is None
    assert result.new_source == CODE and result.diff == ""
    assert program.read_text() == CODE
    nodes = [e.node for e in events]
    assert nodes.count("generate") >= 3 and nodes.count("decide") == 3 and nodes[-1] == "done"


def test_feedback_leads_to_an_accepted_candidate(tmp_path, program, scripted_server):
    server = scripted_server([WRONG, RIGHT])
    result = optimize(program, ["dedupe"], _config(tmp_path, server, attempts=3))
    assert result.status == "optimized", [a.feedback for a in result.attempts]
    assert [a.status for a in result.attempts] == ["wrong_output", "accepted"]
    assert len(server.requests) == 2
    best = result.targets[0].best
    assert best.number == 2 and best.ci_low >= 1.1 and best.ci_low <= best.speedup <= best.ci_high
    assert "dict.fromkeys" in result.new_source and "+    return list(dict.fromkeys(xs))" in result.diff
    assert program.read_text() == CODE  # optimize() never writes
