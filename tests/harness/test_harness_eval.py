"""`fasterpy eval`: the library on crafted rows, and the installed console script on the shipped sample."""

from __future__ import annotations

import json
import subprocess

import pytest

from harness.errors import FasterPyError
from harness.evaluate import EvalOptions, evaluate_rows, load_rows, load_tests, resolve_columns, write_report
from harness.limits import Limits

SLOW = "n = int(input())\ns = 0\nfor i in range(n + 1):\n    s += i\nprint(s)\n"
FAST = "n = int(input())\nprint(n * (n + 1) // 2)\n"
WRONG = "n = int(input())\nprint(n * n)\n"


@pytest.fixture()
def tests_dir(tmp_path):
    root = tmp_path / "tests"
    for pid, cases in {"sum": [("10\n", "55\n"), ("3\n", "6\n")], "other": [("1\n", "1\n")]}.items():
        (root / pid).mkdir(parents=True)
        for i, (inp, out) in enumerate(cases):
            (root / pid / f"input.{i}.txt").write_text(inp)
            (root / pid / f"output.{i}.txt").write_text(out)
    (root / "sum" / "input.9.txt").write_text("no output file: ignored\n")
    return root


def test_load_tests_orders_by_number_and_needs_pairs(tests_dir):
    cases = load_tests(tests_dir, "sum")
    assert [c.name for c in cases] == ["input.0.txt", "input.1.txt"]
    assert load_tests(tests_dir, "missing") == []


def test_crafted_rows_are_scored_or_reported(pool, tests_dir):
    rows = [
        {"problem_id": "sum", "input": SLOW, "target": FAST, "generated_answers": [FAST]},
        {"problem_id": "sum", "input": SLOW, "target": FAST, "generated_answers": [WRONG, FAST]},
        {"problem_id": "sum", "input": SLOW, "target": FAST, "generated_answers": "def broken(:\n"},
        {"problem_id": "no_such_problem", "input": SLOW, "target": FAST, "generated_answers": [FAST]},
        {"problem_id": "sum", "input": "print(", "target": FAST, "generated_answers": [FAST]},
        {"input": SLOW},
    ]
    opts = EvalOptions(runs=2, drop=1, limits=Limits(timeout_s=2.0, memory_mb=256))
    report = evaluate_rows(rows, tests_dir, opts, pool=pool)
    statuses = [r["status"] for r in report.rows]
    assert statuses == ["ok", "ok", "ok", "no_tests", "origin_failed", "bad_row"]
    assert report.rows[0]["model"]["correct"] and report.rows[0]["speedup"] > 0
    assert report.rows[1]["model"]["status"] == "wrong_output"  # first candidate = Pass@1
    assert report.rows[1]["model"]["accuracy"] == 0.0
    assert report.rows[2]["model"]["status"] == "syntax_error"
    assert report.rows[4]["origin"]["status"] == "syntax_error"
    m = report.metrics
    assert m.rows == 6 and m.evaluable == 3 and m.correct == 1
    assert m.pass_at_1 == pytest.approx(1 / 3)
    assert report.reference_metrics.pass_at_1 == 1.0
    assert report.counts == {"ok": 3, "no_tests": 1, "origin_failed": 1, "bad_row": 1}

    best = evaluate_rows(rows[1:2], tests_dir, EvalOptions(runs=2, drop=1, candidate="best",
                                                         limits=opts.limits), pool=pool)
    assert best.rows[0]["candidate_index"] == 1 and best.rows[0]["model"]["correct"]


def test_columns_are_detected_or_named(tests_dir):
    rows = [{"problem_id": "x", "slow_code": "a", "reference_code": "b", "generated_code": "c"}]
    cols = resolve_columns(rows)
    assert (cols.slow, cols.reference, cols.model) == ("slow_code", "reference_code", "generated_code")
    with pytest.raises(FasterPyError, match="--model-col"):
        resolve_columns([{"problem_id": "x", "input": "a"}])
    with pytest.raises(FasterPyError, match="--slow-col"):
        resolve_columns(rows, slow_col="nope")


def test_bad_input_files(tmp_path):
    with pytest.raises(FasterPyError, match="does not exist"):
        load_rows(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem_id": "a"}\nnot json\n')
    with pytest.raises(FasterPyError, match=r"bad.jsonl:2"):
        load_rows(bad)


def test_report_is_written_atomically_with_backup(tmp_path):
    path = tmp_path / "r.jsonl"
    write_report([{"a": 1}], path)
    write_report([{"a": 2}, {"a": 3}], path)
    assert [json.loads(x)["a"] for x in path.read_text().splitlines()] == [2, 3]
    assert json.loads((tmp_path / "r.jsonl.bak").read_text())["a"] == 1


def test_cli_eval_on_the_shipped_sample(fasterpy_bin, repo_root, tmp_path):
    report = tmp_path / "report.jsonl"
    cmd = [str(fasterpy_bin), "eval", "data/pie_sample/sample.jsonl", "--tests", "data/pie_sample/tests",
           "--json", "--report", str(report), "--runs", "2", "--timeout", "5", "--no-progress"]
    out = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["metrics"]["rows"] == 12 and data["metrics"]["evaluable"] == 12
    assert data["metrics"]["pass_at_1"] == 1.0  # the sample's model column is the human reference
    assert data["reference_metrics"]["pass_at_1"] == 1.0
    assert data["columns"] == {"slow": "input", "reference": "target", "model": "generated_answers"}
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert len(lines) == 12 and all(r["status"] == "ok" for r in lines)
    assert all(r["origin"]["runtime"] > 0 for r in lines)


def test_cli_eval_table_and_user_errors(fasterpy_bin, repo_root, tmp_path):
    cmd = [str(fasterpy_bin), "eval", "data/pie_sample/sample.jsonl", "--tests", "data/pie_sample/tests",
           "--limit", "2", "--runs", "2", "--no-reference"]
    out = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert "Pass@1" in out.stdout and "@Speedup" in out.stdout and "PIE %Opt" in out.stdout
    missing = subprocess.run([str(fasterpy_bin), "eval", str(tmp_path / "none.jsonl"), "--tests", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ") and len(missing.stderr.strip().splitlines()) == 1
    no_dir = subprocess.run([str(fasterpy_bin), "eval", "data/pie_sample/sample.jsonl", "--tests", str(tmp_path / "nope")],
                            cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert no_dir.returncode == 2 and "tests directory" in no_dir.stderr
