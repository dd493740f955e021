"""`fasterpy batch`: PIE rows in, one output row each (emitted program + status), resumable, and the
row's own problem is never retrieved."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

PIE = Path(__file__).resolve().parents[4] / "shared" / "data" / "pie-dev"


def _kb_problems() -> set[str]:
    from kb.store import KnowledgeBase

    with KnowledgeBase.open() as kb:
        return {r.problem_id for r in kb.records()}


@pytest.fixture
def rows(tmp_path):
    if not (PIE / "dev_pairs.jsonl").is_file():
        pytest.fail(f"development data missing: {PIE}")
    picked, problems, in_kb = [], set(), _kb_problems()
    with (PIE / "dev_pairs.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            pid = row["problem_id"]
            if pid in problems or pid not in in_kb or not (PIE / "public_test_cases" / pid).is_dir():
                continue
            problems.add(row["problem_id"])
            picked.append(row)
            if len(picked) == 2:
                break
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked))
    return path, picked


def test_batch_writes_rows_and_resumes(rows, tmp_path, fasterpy_bin):
    inp, picked = rows
    out = tmp_path / "out.jsonl"
    cmd = [str(fasterpy_bin), "batch", str(inp), "--tests", str(PIE / "public_test_cases"), "-o", str(out),
           "--backend", "rules", "--attempts", "1", "--candidates", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["problem_id"] for g in got] == [r["problem_id"] for r in picked]
    for g, r in zip(got, picked, strict=True):
        assert g["fasterpy_status"] in ("optimized", "no_improvement"), g["fasterpy_error"]
        assert g["slow_code"] == r["slow_code"]  # input columns are kept
        if g["fasterpy_status"] == "no_improvement":
            assert g["generated_answers"] == r["slow_code"]  # unverified code is never emitted
        else:
            assert g["generated_answers"] != r["slow_code"] and g["fasterpy_speedup"] >= 1.1
    assert "2 row(s) processed" in res.stderr
    # resumable: a second run skips every row already written, a torn last line is redone
    from graph.batch import run_batch
    from graph.config import FasterPyConfig

    cfg = FasterPyConfig.load(tmp_path, {"generation.backend": "rules", "attempts": 1, "candidates": 1})
    again = run_batch(inp, PIE / "public_test_cases", out, cfg)
    assert (again.done, again.skipped) == (0, 2)
    text = out.read_text()
    out.write_text(text[: text.rstrip("\n").rfind("\n") + 1] + '{"problem_id": "torn')
    third = run_batch(inp, PIE / "public_test_cases", out, cfg)
    assert (third.done, third.skipped) == (1, 1)
    assert len(out.read_text().splitlines()) == 2


def test_batch_excludes_the_rows_own_problem_from_retrieval(rows, tmp_path):
    from graph.batch import run_batch
    from graph.config import FasterPyConfig

    inp, picked = rows
    events = []
    cfg = FasterPyConfig.load(tmp_path, {"generation.backend": "rules", "attempts": 1, "candidates": 1})
    run_batch(inp, PIE / "public_test_cases", tmp_path / "o.jsonl", cfg, on_event=events.append, limit=1)
    retrieved = [e for e in events if e.node == "retrieve" and "suggestions" in e.data]
    assert retrieved
    for e in retrieved:
        assert all(s["problem_id"] != picked[0]["problem_id"] for s in e.data["suggestions"])
