"""A run stopped mid-way (the TUI's Esc / Ctrl-C set the cancel event) resumes from its SQLite
checkpoint by run id, without redoing the finished nodes."""

from __future__ import annotations

import subprocess
import threading

from graph.api import optimize, resume
from graph.config import FasterPyConfig


def test_cancel_mid_run_then_resume_by_run_id(slow_stats, tmp_path, fasterpy_bin):
    db = tmp_path / "runs.sqlite"
    cfg = FasterPyConfig.load(slow_stats, {"state_db": str(db)})
    cancel = threading.Event()
    seen = []

    def on_event(event):
        seen.append(event.node)
        if event.node == "generate":
            cancel.set()  # stop once a candidate is being generated

    first = optimize(slow_stats, ["pairwise_close"], cfg, on_event=on_event, cancel=cancel)
    assert first.status == "cancelled" and first.exit_code == 130 and first.run_id
    assert "verify" not in seen and "decide" not in seen
    assert first.new_source == first.original_source

    # resume in-process: it starts after the last finished node (no second preprocess/retrieve)
    nodes = []
    second = resume(first.run_id, on_event=lambda e: nodes.append(e.node), state_db=db)
    assert second.status == "optimized", [a.feedback for a in second.attempts]
    assert second.run_id == first.run_id
    assert "retrieve" not in nodes and "verify" in nodes and nodes[-1] == "done"

    # a finished run resumed again just reports its result (CLI, exit code 0)
    res = subprocess.run([str(fasterpy_bin), "optimize", "--resume", first.run_id, "--state-db", str(db), "--json"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert '"status": "optimized"' in res.stdout


def test_cli_resume_of_an_interrupted_run(slow_stats, tmp_path, fasterpy_bin):
    db = tmp_path / "runs.sqlite"
    cfg = FasterPyConfig.load(slow_stats, {"state_db": str(db), "mode": "each", "attempts": 1})
    cancel = threading.Event()

    def on_event(event):
        if event.node == "decide":  # first target decided: stop before the second one
            cancel.set()

    first = optimize(slow_stats, ["pairwise_close", "running_means"], cfg, on_event=on_event, cancel=cancel)
    assert first.status == "cancelled"
    assert [t.target for t in first.targets] == ["pairwise_close"]
    res = subprocess.run([str(fasterpy_bin), "optimize", "--resume", first.run_id, "--state-db", str(db), "--write"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "running_means" in res.stdout and "pairwise_close" in res.stdout
    assert slow_stats.with_name("slow_stats.py.bak").exists()


def test_resume_unknown_run_is_one_line(tmp_path, fasterpy_bin):
    db = tmp_path / "runs.sqlite"
    from graph.pipeline.build import open_checkpointer

    open_checkpointer(db).conn.close()  # an empty run database
    res = subprocess.run([str(fasterpy_bin), "optimize", "--resume", "nope", "--state-db", str(db)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: no run 'nope'") and len(res.stderr.strip().splitlines()) == 1
