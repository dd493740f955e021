"""replay backend: candidates from a PIE-format JSONL column, found by key or by code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import get_backend, resolve_backend_name
from graph.prompt import build_messages, extract_code
from harness.errors import FasterPyError

SLOW_A = "n = int(input())\nprint(sorted([n, 1])[0])\n"
SLOW_B = "print(sum([i for i in range(10)]))\n"


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    rows = [
        {"problem_id": "p00001", "submission_id_v0": "s1", "input": SLOW_A,
         "generated_answers": ["```python\nprint(min(int(input()), 1))\n```", "print(1)", "```\nx = 1\n```"]},
        {"problem_id": "p00002", "submission_id_v0": "s2", "input": SLOW_B, "generated_answers": "print(45)\n"},
    ]
    path = tmp_path / "outputs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _req(code: str = "", key: str | None = None, n: int | None = None, feedback: tuple[str, ...] = ()) -> GenerationRequest:
    return GenerationRequest(messages=build_messages(code, []), code=code, key=key, n=n, feedback=feedback)


def test_replay_by_key_code_and_row(outputs: Path) -> None:
    cfg = GenerationConfig(model=str(outputs), n=2)
    assert resolve_backend_name(cfg) == "replay"
    b = get_backend(cfg, reuse=False)
    by_key = b.generate(_req(key="p00001"))
    assert [extract_code(r) for r in by_key] == ["print(min(int(input()), 1))\n", "print(1)\n"]
    assert b.generate(_req(code=SLOW_A + "\n\n")) == by_key  # whitespace-insensitive code match
    assert b.generate(_req(key="1")) == ["print(45)\n"]  # row number; a single string column
    assert b.generate(_req(key="s2", n=5)) == ["print(45)\n"]
    assert b.generate(_req(code="print('unknown')\n")) == []


def test_replay_feedback_moves_to_the_next_candidates(outputs: Path) -> None:
    b = get_backend(GenerationConfig(model=str(outputs), backend="replay", n=2), reuse=False)
    first = b.generate(_req(key="p00001"))
    nxt = b.generate(_req(key="p00001", feedback=("wrong output",)))
    assert len(first) == 2 and nxt == ["```\nx = 1\n```"]
    assert b.generate(_req(key="p00001", feedback=("slower",))) == []


def test_replay_errors(tmp_path: Path, outputs: Path) -> None:
    with pytest.raises(FasterPyError, match="does not exist"):
        get_backend(GenerationConfig(backend="replay", model=str(tmp_path / "none.jsonl")), reuse=False)
    with pytest.raises(FasterPyError, match="no column 'answers'"):
        get_backend(GenerationConfig(backend="replay", model=str(outputs), replay_column="answers"), reuse=False)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "x"}\n{oops\n')
    with pytest.raises(FasterPyError, match=r"bad.jsonl:2 is not valid JSON"):
        get_backend(GenerationConfig(backend="replay", model=str(bad)), reuse=False)
