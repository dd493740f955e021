"""`--resume` in the middle of a search: a run of one target over several attempts, stopped after
attempt k (the cancel event, as the TUI's Esc / Ctrl-C set it, or the process killed outright),
continues from attempt k+1 with k's feedback — no earlier candidate is generated again (the
scripted model server counts the requests) — and ends with the same best result as a run that was
never interrupted. The real graph, SQLite checkpointer, `openai` backend, local HTTP server and sandbox."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from graph.api import initial_state, optimize, prepare_inputs, resume
from graph.config import FasterPyConfig
from graph.pipeline.build import build_graph, open_checkpointer
from graph.pipeline.context import RunContext

# a list used as a set: the program every search test optimizes (shared with the other pipeline tests)
CODE = (Path(__file__).resolve().parents[2] / "fixtures" / "dedupe_program.py").read_text(encoding="utf-8")

WRONG = "```python\ndef dedupe(xs):\n    return sorted(set(xs), reverse=True)\n```"
RAISES = "```python\ndef dedupe(xs):\n    return [xs[len(xs)]]\n```"
RIGHT = "```python\ndef dedupe(xs):\n    return list(dict.fromkeys(xs))\n```"
SCRIPT = [WRONG, RAISES, RIGHT]  # attempt i's one candidate
STATUSES = ["wrong_output", "exception", "accepted"]


@pytest.fixture(autouse=True)
def _api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def _settings(base_url: str, db) -> dict:
    return {"generation.backend": "openai", "generation.base_url": base_url, "generation.model": "scripted",
            "attempts": 3, "candidates": 1, "repeats": 4, "use_retrieval": False, "budget_s": 3600.0,
            "state_db": str(db)}


def _program(tmp_path, name: str):
    d = tmp_path / name
    d.mkdir()
    p = d / "dedupe.py"
    p.write_text(CODE)
    return p


def _user_turn(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


def _summary(result) -> tuple:
    best = result.targets[0].best
    return (result.status, [a.status for a in result.attempts], best.number, best.candidate, best.code,
            result.new_source)


@pytest.fixture
def uninterrupted(tmp_path, scripted_server):
    server = scripted_server(SCRIPT)
    program = _program(tmp_path, "straight")
    result = optimize(program, ["dedupe"], FasterPyConfig.load(program.parent, _settings(server.base_url, tmp_path / "a.sqlite")))
    assert result.status == "optimized" and len(server.requests) == 3, [a.feedback for a in result.attempts]
    assert [a.status for a in result.attempts] == STATUSES
    return result


def _stops_after(k: int, where: str):
    """An event sink that sets the cancel event once attempt k's verify (or decide) has reported."""
    cancel = threading.Event()

    def on_event(e) -> None:
        if where == "verify" and e.node == "verify" and e.data.get("status") and e.data.get("attempt") == k:
            cancel.set()  # the verdict is in; the run stops before decide
        if where == "decide" and e.node == "decide" and e.data.get("status") == "retry" and e.step == k:
            cancel.set()  # decided to retry; the run stops before the next generate

    return cancel, on_event


@pytest.mark.parametrize("k, where", [(1, "verify"), (2, "decide")])
def test_a_search_stopped_after_attempt_k_resumes_at_k_plus_1(tmp_path, scripted_server, uninterrupted, k, where):
    server = scripted_server(SCRIPT)
    program = _program(tmp_path, "stopped")
    db = tmp_path / "b.sqlite"
    cancel, on_event = _stops_after(k, where)
    first = optimize(program, ["dedupe"], FasterPyConfig.load(program.parent, _settings(server.base_url, db)),
                     on_event=on_event, cancel=cancel)
    assert first.status == "cancelled" and first.run_id
    assert len(server.requests) == k  # attempts 1..k generated, k+1 not yet

    generated: list[int | None] = []
    second = resume(first.run_id, state_db=db,
                    on_event=lambda e: generated.append(e.step) if e.node == "generate" and "asking" in e.message else None)
    assert second.run_id == first.run_id
    assert generated == list(range(k + 1, 4))  # the resumed run generates attempts k+1.. only
    assert len(server.requests) == 3  # one generation per attempt in all: none repeated
    # attempt k+1's prompt carries attempt k's failure, quoted from the checkpointed state
    assert STATUSES[k - 1] in _user_turn(server.requests[k]) and "dedupe" in _user_turn(server.requests[k])
    assert [a.number for a in second.attempts] == [1, 2, 3]
    assert _summary(second) == _summary(uninterrupted)


class _Held:
    """Holds the model server's reply to request `index` until released (the process is killed meanwhile)."""

    def __init__(self, index: int) -> None:
        self.index, self.arrived, self.release = index, threading.Event(), threading.Event()

    def __call__(self, i: int) -> None:
        if i == self.index:
            self.arrived.set()
            self.release.wait(60)


def test_a_killed_cli_run_resumes_from_its_last_finished_attempt(tmp_path, scripted_server, fasterpy_bin, uninterrupted):
    held = _Held(1)  # attempt 2's generation: the CLI is killed while it waits for the model
    server = scripted_server(SCRIPT[:1] + SCRIPT[1:2] * 2 + SCRIPT[2:])  # the held reply is never delivered
    server.gate = held
    program = _program(tmp_path, "killed")
    db = tmp_path / "c.sqlite"
    (program.parent / "fasterpy.toml").write_text(
        f'attempts = 3\ncandidates = 1\nrepeats = 4\nuse_retrieval = false\nbudget_s = 3600.0\nstate_db = "{db}"\n'
        f'[generation]\nbackend = "openai"\nbase_url = "{server.base_url}"\nmodel = "scripted"\n')
    env = dict(os.environ, OPENAI_API_KEY="test-key")
    proc = subprocess.Popen([str(fasterpy_bin), "optimize", str(program), "-f", "dedupe", "--json"], cwd=program.parent,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert held.arrived.wait(240), "the CLI run never asked for attempt 2"
        os.killpg(proc.pid, signal.SIGKILL)  # no cancel, no cleanup: only what the checkpointer wrote survives
        proc.wait(30)
    finally:
        held.release.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    with sqlite3.connect(db) as conn:
        (run_id,) = conn.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchone()

    res = subprocess.run([str(fasterpy_bin), "optimize", "--resume", run_id, "--state-db", str(db), "--json"],
                         capture_output=True, text=True, timeout=300, cwd=program.parent, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert '"status": "optimized"' in res.stdout
    # attempt 1 was not generated again; attempt 2, in flight when killed, was asked for once more
    prompts = [_user_turn(r) for r in server.requests]
    assert len(prompts) == 4 and prompts[2] == prompts[1] and prompts[0] not in prompts[1:]
    assert "wrong_output" in prompts[2]
    done = resume(run_id, state_db=db)  # the finished run, read back
    assert _summary(done) == _summary(uninterrupted)


class _Killed(Exception):
    """The process dies here: what was on disk before stays, nothing after is written."""


def test_a_node_that_finished_after_the_last_checkpoint_is_not_run_again(tmp_path, scripted_server, uninterrupted):
    """Killed between a node's saved writes and the checkpoint after it (attempt 1's verify: its
    verdict is on disk, the checkpoint "decide is next" is not): resume applies the saved verdict."""
    server = scripted_server(SCRIPT)
    program = _program(tmp_path, "torn")
    db = tmp_path / "d.sqlite"
    state = initial_state(program, ["dedupe"], FasterPyConfig.load(program.parent, _settings(server.base_url, db)))
    saver = open_checkpointer(db)
    put = saver.put

    def put_until_verify(config, checkpoint, metadata, versions):
        if metadata.get("step") == 4:  # the checkpoint after step 3, attempt 1's verify
            raise _Killed
        return put(config, checkpoint, metadata, versions)

    saver.put = put_until_verify
    try:
        with RunContext() as ctx, pytest.raises(_Killed):
            prepare_inputs(state, ctx)
            build_graph(checkpointer=saver).invoke(state, {"configurable": {"thread_id": state["run_id"]}},
                                                   context=ctx, durability="sync")
    finally:
        saver.conn.close()
    assert len(server.requests) == 1

    verified: list[int] = []
    result = resume(state["run_id"], state_db=db, on_event=lambda e: verified.append(e.data["attempt"])
                    if e.node == "verify" and e.data.get("status") else None)
    assert verified == [2, 3]  # attempt 1 is not verified again: its saved verdict is used
    assert len(server.requests) == 3 and [a.number for a in result.attempts] == [1, 2, 3]
    assert _summary(result) == _summary(uninterrupted)
