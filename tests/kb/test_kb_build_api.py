"""`kb build` / `kb add` as library calls: load_pairs, build_kb, user_pair, add_to_kb."""

from __future__ import annotations

import json

import pytest

from harness.errors import FasterPyError
from kb.builders.build import Measuring, PairSources, add_to_kb, build_kb, load_pairs, user_pair


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(n, rate=2.0):
    return [{"input": f"x = {i}\nfor a in range({i}):\n    print(a)\n", "target": f"print({i})\n", "rate": rate,
             "problem_id": f"p{i}"} for i in range(n)]


def test_load_pairs_limits_each_file_and_fills_in_tests(tmp_path):
    plain = _jsonl(tmp_path / "p.jsonl", _rows(4))
    tests = _jsonl(tmp_path / "t.jsonl", [{"problem_id": "p1", "tests": [{"input": "1\n", "output": "2\n"}]}])
    pairs = load_pairs(PairSources(plain=[plain, plain], tests_jsonl=tests, limit=2))
    assert [p.problem_id for p in pairs] == ["p0", "p1", "p0", "p1"]
    assert pairs[1].tests == [("1\n", "2\n")] and pairs[0].tests == []
    with pytest.raises(FasterPyError, match="no input given"):
        load_pairs(PairSources())


def test_build_kb_builds_then_resumes_and_add_to_kb_adds(tmp_path):
    out = tmp_path / "kb"
    pairs = load_pairs(PairSources(plain=[_jsonl(tmp_path / "p.jsonl", _rows(3))]))
    first = build_kb(out, pairs, embedder="lexical-256", measuring=Measuring(enabled=False), progress=False)
    assert first.summary["added"] == 3 and first.records == 3
    again = build_kb(out, pairs, measuring=Measuring(enabled=False), progress=False)
    assert again.summary["added"] == 0 and again.summary["skipped_existing"] == 3 and again.records == 3
    slow, fast = tmp_path / "slow.py", tmp_path / "fast.py"
    slow.write_text("s = 0\nfor i in range(10):\n    s += i\nprint(s)\n")
    fast.write_text("print(45)\n")
    pair = user_pair(slow, fast, rate=3.0, problem_id="sum")
    assert pair.key == user_pair(slow, fast).key and pair.source == "user"
    assert add_to_kb(out, [pair], measure=False)["added"] == 1
    assert add_to_kb(out, [pair], measure=False)["skipped_existing"] == 1
