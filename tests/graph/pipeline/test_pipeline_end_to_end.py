"""End to end on the shipped example with the offline rules backend: a verified speedup, a correct
diff that touches only the targets, `--write` with a backup, `--json`, mode "each" and `--learn`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from graph.api import optimize, unified_diff
from graph.config import FasterPyConfig

TARGETS = ["pairwise_close", "running_means"]


def _run(fasterpy_bin, *args, cwd):
    return subprocess.run([str(fasterpy_bin), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def _segments_except(source: str, names: set[str]) -> list[str]:
    tree = ast.parse(source)
    return [ast.get_source_segment(source, n) for n in tree.body if getattr(n, "name", None) not in names]


def _program_output(path: Path) -> str:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=path.parent).stdout


def test_cli_optimizes_verifies_and_writes_with_backup(slow_stats, fasterpy_bin, tmp_path):
    original = slow_stats.read_bytes()
    expected_output = _program_output(slow_stats)
    res = _run(fasterpy_bin, "optimize", slow_stats, *[a for t in TARGETS for a in ("-f", t)], "--backend", "rules",
               "--write", "--learn", "--state-db", tmp_path / "runs.sqlite", cwd=slow_stats.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    # --learn: the accepted change is now a record of the user KB (a copy of the shipped one)
    assert "added 1 record(s) to your knowledge base" in res.stdout
    from kb.paths import user_kb_dir
    from kb.store import KnowledgeBase

    with KnowledgeBase.open(user_kb_dir()) as kb:
        assert kb.records(source="user")
    assert "verified" in res.stdout and "CI" in res.stdout and "×" in res.stdout
    backup = slow_stats.with_name("slow_stats.py.bak")
    assert backup.read_bytes() == original
    assert f"backup of the original: {backup}" in res.stdout.replace("\n", "")
    new = slow_stats.read_text()
    assert new != original.decode()
    # only the target functions changed (imports/helpers may be added), every other definition is intact
    old_src = original.decode()
    assert [s for s in _segments_except(old_src, set(TARGETS))] == \
        [s for s in _segments_except(new, set(TARGETS)) if s in _segments_except(old_src, set(TARGETS))]
    assert _program_output(slow_stats) == expected_output


def test_backups_are_never_overwritten(tmp_path):
    from graph.api import backup_path

    f = tmp_path / "m.py"
    f.write_text("x = 1\n")
    assert backup_path(f).name == "m.py.bak"
    (tmp_path / "m.py.bak").write_text("old")
    assert backup_path(f).name == "m.py.bak.1"
    (tmp_path / "m.py.bak.1").write_text("older")
    assert backup_path(f).name == "m.py.bak.2"


def test_json_result_has_a_correct_diff_and_leaves_the_file(slow_stats, fasterpy_bin, tmp_path):
    original = slow_stats.read_text()
    res = _run(fasterpy_bin, "optimize", slow_stats, "-f", "pairwise_close", "--backend", "rules", "--json",
               "--state-db", tmp_path / "runs.sqlite", cwd=slow_stats.parent)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["status"] == "optimized" and data["run_id"]
    target = data["targets"][0]
    assert target["best"]["status"] == "accepted" and target["best"]["ci_low"] >= 1.1
    assert target["attempts"] and target["suggestions"] is not None
    assert data["diff"] == unified_diff(original, data["new_source"], str(slow_stats))
    assert data["diff"].startswith("--- a/slow_stats.py\n+++ b/slow_stats.py\n")
    # applying the diff with `patch` gives exactly the new source
    copy = tmp_path / "patched.py"
    copy.write_text(original)
    subprocess.run(["patch", "-s", str(copy)], input=data["diff"], text=True, check=True, timeout=60)
    assert copy.read_text() == data["new_source"]
    assert slow_stats.read_text() == original  # no --write, no change


def test_mode_each_optimizes_targets_one_by_one_and_learns(slow_stats, tmp_path):
    from graph.learn import learn_from_result
    from kb.store import KnowledgeBase

    cfg = FasterPyConfig.load(slow_stats, {"mode": "each", "attempts": 1,
                                         "state_db": str(tmp_path / "runs.sqlite"),
                                         "learn_kb": str(tmp_path / "my-kb")})
    result = optimize(slow_stats, TARGETS, cfg)
    assert result.status == "optimized"
    assert [t.targets for t in result.targets] == [[t] for t in TARGETS]
    optimized = [t for t in result.targets if t.status == "optimized"]
    assert optimized and optimized[0].target == "pairwise_close"
    for t in result.targets:  # each group ends with a verified candidate or the reasons it has none
        assert (t.best is not None) != bool(t.reasons)
    added = learn_from_result(result, cfg)
    assert len(added) == len(optimized)
    with KnowledgeBase.open(tmp_path / "my-kb") as kb:
        learned = [r for r in kb.records(source="user")]
        assert {r.id for r in learned} == set(added)
        assert {round(r.rate, 2) for r in learned} == {round(t.speedup, 2) for t in optimized}
        assert all(r.summary.startswith("1. ") for r in learned)
    assert learn_from_result(result, cfg) == []  # the same change is not learned twice
