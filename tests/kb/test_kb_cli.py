"""`fasterpy kb …` through the installed console script, on the shipped default KB and a fresh one."""

from __future__ import annotations

import json
import subprocess
import textwrap

PROGRAM = textwrap.dedent(
    """\
    def read():
        n = int(input())
        return [int(x) for x in input().split()][:n]

    def count_pairs(a):
        c = 0
        for i in range(len(a)):
            for j in range(i + 1, len(a)):
                if a[i] + a[j] == 0:
                    c += 1
        return c

    def unused():
        return 42

    print(count_pairs(read()))
    """
)


def _run(fasterpy_bin, *args, **kw):
    return subprocess.run([str(fasterpy_bin), "kb", *map(str, args)], capture_output=True, text=True, timeout=180, **kw)


def test_query_default_kb_json_and_table(fasterpy_bin, tmp_path):
    f = tmp_path / "prog.py"
    f.write_text(PROGRAM)
    res = _run(fasterpy_bin, "query", f, "-f", "count_pairs", "-k", "2", "--json", "--show-context")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["targets"] == ["count_pairs"] and "def unused" not in data["context"]
    sugg = data["suggestions"]
    assert 1 <= len(sugg) <= 2 and sugg[0]["kept_because"] == "closest"
    assert {"similarity", "rate", "summary", "problem_id", "source"} <= set(sugg[0])
    excluded = sugg[0]["problem_id"]
    res = _run(fasterpy_bin, "query", f, "-f", "count_pairs", "--json", "--exclude-problem", excluded)
    assert all(s["problem_id"] != excluded for s in json.loads(res.stdout)["suggestions"])
    table = _run(fasterpy_bin, "query", f, "-f", "count_pairs")
    assert table.returncode == 0 and "applicability" in table.stdout and "rate" in table.stdout


def test_stats_default_kb(fasterpy_bin):
    res = _run(fasterpy_bin, "stats", "--json")
    assert res.returncode == 0, res.stderr
    st = json.loads(res.stdout)
    assert st["records"] == st["indexed"] > 100 and st["embedder"]


def test_user_errors_are_one_line_exit_2(fasterpy_bin, tmp_path):
    f = tmp_path / "prog.py"
    f.write_text(PROGRAM)
    res = _run(fasterpy_bin, "query", f, "-f", "nope")
    assert res.returncode == 2 and res.stderr.startswith("error: no function named 'nope'")
    assert "Traceback" not in res.stderr and "count_pairs" in res.stderr
    res = _run(fasterpy_bin, "stats", "--kb", tmp_path / "missing")
    assert res.returncode == 2 and "no knowledge base" in res.stderr
    res = _run(fasterpy_bin, "build", "--out", tmp_path / "kb")
    assert res.returncode == 2 and "no input given" in res.stderr
    pairs = tmp_path / "p.jsonl"
    pairs.write_text('{"input": "x = 1", "target": "x = 2", "rate": 2}\n')
    res = _run(fasterpy_bin, "build", "--out", tmp_path / "kb", "--pairs", pairs, "--summarizer", "llm")
    assert res.returncode == 2 and "--summarizer llm needs a model" in res.stderr


def test_build_add_query_reindex_on_a_new_kb(fasterpy_bin, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"input": "n = int(input())\nprint(sum([i for i in range(n)]))\n",
         "target": "n = int(input())\nprint(n * (n - 1) // 2)\n", "rate": 4.0, "problem_id": "tri"},
        {"input": "s = input()\nr = ''\nfor c in s:\n    r += c\nprint(r)\n",
         "target": "print(input())\n", "rate": 1.5, "problem_id": "echo"},
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kb = tmp_path / "kb"
    res = _run(fasterpy_bin, "build", "--out", kb, "--pairs", pairs, "--embedder", "lexical-256", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.split("\nknowledge base")[0])["added"] == 2
    slow, fast = tmp_path / "slow.py", tmp_path / "fast.py"
    slow.write_text("a = list(range(100))\nprint(99 in a)\n")
    fast.write_text("a = set(range(100))\nprint(99 in a)\n")
    res = _run(fasterpy_bin, "add", "--kb", kb, "--slow", slow, "--fast", fast, "--rate", "2.0", "--problem-id", "mem")
    assert res.returncode == 0, res.stderr
    res = _run(fasterpy_bin, "query", slow, "--kb", kb, "--json", "-k", "1")
    top = json.loads(res.stdout)["suggestions"][0]
    assert top["problem_id"] == "mem" and "set" in top["summary"].lower()
    res = _run(fasterpy_bin, "reindex", "--kb", kb, "--M", "8")
    assert res.returncode == 0 and "reindexed 3 records" in res.stdout
    res = _run(fasterpy_bin, "stats", "--kb", kb, "--json")
    assert json.loads(res.stdout)["index"]["M"] == 8
