"""The training-set builder on a small real KB (hnswlib + SQLite): no example sees its own record,
a copy of it, or anything from its problem; validation shares no problem with training."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from finetune.dataset import SELF_SIMILARITY, build_dataset, parse_problem_list, read_examples
from graph.prompt import SYSTEM_PROMPT, extract_code
from harness.errors import FasterPyError
from kb.records import Record
from kb.store import KnowledgeBase

SNIPPETS = [
    ("n = int(input())\nl = []\nfor i in range(n):\n    l.append(int(input()))\nprint(sum(l))",
     "import sys\nprint(sum(map(int, sys.stdin.read().split()[1:])))", "1. Read all input at once"),
    ("s = input()\nc = 0\nfor ch in s:\n    if ch == 'a':\n        c += 1\nprint(c)",
     "print(input().count('a'))", "1. Use str.count instead of a loop"),
    ("a = list(map(int, input().split()))\nm = a[0]\nfor x in a:\n    if x > m:\n        m = x\nprint(m)",
     "print(max(map(int, input().split())))", "1. Use the builtin max"),
    ("n = int(input())\nt = 0\nfor i in range(1, n + 1):\n    t = t + i\nprint(t)",
     "n = int(input())\nprint(n * (n + 1) // 2)", "1. Closed form instead of a loop"),
    ("x = input().split()\nr = ''\nfor w in x:\n    r = r + w\nprint(r)",
     "print(''.join(input().split()))", "1. str.join instead of repeated concatenation"),
]


def _make_kb(path: Path) -> KnowledgeBase:
    kb = KnowledgeBase.create(path, embedder="lexical")
    records = []
    rid = 1
    for p in range(8):  # 8 problems × 3 pairs, variations of the snippets
        for j in range(3):
            slow, fast, summary = SNIPPETS[(p + j) % len(SNIPPETS)]
            slow = f"# problem {p} variant {j}\n" + slow + ("\n" + "y = 0\n" * j)
            records.append(Record(id=rid, summary=summary, rate=1.5 + p + j, slow_code=slow, target=fast,
                                  source="test", problem_id=f"p{p:03d}", meta={"key": f"k{rid}"}))
            rid += 1
    # An exact copy of problem 0's first program, filed under another problem: similarity 1.
    records.append(Record(id=rid, summary="copy", rate=9.0, slow_code=records[0].slow_code, target="pass",
                          source="test", problem_id="p900", meta={"key": "copy"}))
    kb.add(records)
    return kb


@pytest.fixture()
def small_kb(tmp_path: Path) -> Path:
    path = tmp_path / "kb"
    _make_kb(path).close()
    return path


def test_examples_exclude_self_and_same_problem_and_split_by_problem(small_kb: Path, tmp_path: Path):
    out = tmp_path / "data" / "train.jsonl"
    with KnowledgeBase.open(small_kb) as kb:
        stats = build_dataset(kb, n=0, output=out, val_frac=0.25, seed=3, exclude_problems=["p007"])
    train, val = read_examples(out), read_examples(out.with_name("val.jsonl"))
    assert stats.written_train == len(train) and stats.written_val == len(val)
    assert len(train) + len(val) == 8 * 3 + 1 - 3  # every pair except the excluded problem's
    assert val and train
    train_p = {r["problem_id"] for r in train}
    val_p = {r["problem_id"] for r in val}
    assert not train_p & val_p
    assert "p007" not in train_p | val_p
    copies_seen = 0
    for row in train + val:
        sugg = row["suggestions"]
        # Algorithm 2 keeps the closest plus others within Δs of it: 1 or 2, as at inference.
        assert 1 <= len(sugg) <= 2
        for s in sugg:
            assert s["id"] != row["record_id"]
            assert s["problem_id"] != row["problem_id"]
            assert s["problem_id"] != "p007"
            assert s["similarity"] < SELF_SIMILARITY
        msgs = row["messages"]
        assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
        assert msgs[0]["content"] == SYSTEM_PROMPT
        assert msgs[1]["content"].startswith("Input code:\n```\n") and msgs[1]["content"].endswith("Output:")
        assert msgs[1]["content"].count("Applicability: ") == len(sugg)
        assert msgs[2]["content"].startswith("```python\n")
        copies_seen += row["problem_id"] in ("p000", "p900")
    # The copy (p900) and its original (p000, first variant) would be each other's closest match at
    # similarity 1; the builder dropped it (counted) rather than hand over the answer.
    assert copies_seen and stats.dropped_self >= 1
    # The answer is what extract_code takes back out: the target.
    with KnowledgeBase.open(small_kb) as kb:
        targets = {r.id: r.target for r in kb.records()}
    for row in train:
        assert extract_code(row["messages"][2]["content"]).strip() == targets[row["record_id"]].strip()


def test_problem_list_parsing(tmp_path: Path):
    f = tmp_path / "ex.txt"
    f.write_text("p1\n# comment\np2  # trailing\n\n")
    assert parse_problem_list(str(f)) == ["p1", "p2"]
    c = tmp_path / "ex.csv"
    c.write_text("problem_id,tier\np3,A\np4,B\n")
    assert parse_problem_list(c) == ["p3", "p4"]
    assert parse_problem_list("p5, p6 p7") == ["p5", "p6", "p7"]
    with pytest.raises(FasterPyError, match="does not exist"):
        parse_problem_list("missing/list.txt")


def test_build_data_cli(small_kb: Path, tmp_path: Path, fasterpy_bin: Path):
    out = tmp_path / "ft.jsonl"
    res = subprocess.run([str(fasterpy_bin), "finetune", "build-data", "--kb", str(small_kb), "-n", "10",
                          "-o", str(out), "--val-frac", "0.2", "--exclude-problems", "p001,p002", "--all-pairs",
                          "--no-progress"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rows = read_examples(out) + read_examples(tmp_path / "ft.val.jsonl")
    assert len(rows) == 10
    assert not {r["problem_id"] for r in rows} & {"p001", "p002"}
    assert "training examples" in res.stdout

    bad = subprocess.run([str(fasterpy_bin), "finetune", "build-data", "--kb", str(tmp_path / "nokb"), "-o",
                          str(out), "--no-progress"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
