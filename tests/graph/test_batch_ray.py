"""`fasterpy batch` on Ray: a real local Ray cluster (2 CPUs, started once for the module) runs tiny
PIE-style rows with the rules backend and writes the same rows as the local runner; a Ray worker
killed while running a row makes Ray retry it; a row that kills every try is recorded as failed;
without --ray, Ray is never imported."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.batch import RowJob, run_batch
from graph.batch_ray import RaySettings
from graph.config import FasterPyConfig

MEMBER = ("def main():\n    n = int(input())\n    A = list(map(int, input().split()))\n    q = int(input())\n"
          "    B = list(map(int, input().split()))\n    c = 0\n    for b in B:\n        if b in A:\n"
          "            c += 1\n    print(c)\nmain()\n")  # rules: list membership → set, clearly faster
PLAIN = "print(sum(map(int, open(0).read().split())))\n"  # nothing for the rules to rewrite
PROD = "a, b = map(int, open(0).read().split())\nprint(a * b)\n"
WRONG = "print(42)\n"  # fails its own test: never optimized


def _write_rows(root: Path) -> tuple[Path, Path]:
    rng = random.Random(0)
    a = [rng.randrange(10**6) for _ in range(1500)]
    b = [rng.choice(a) if rng.random() < 0.5 else rng.randrange(10**6) for _ in range(1500)]
    member_in = f"{len(a)}\n{' '.join(map(str, a))}\n{len(b)}\n{' '.join(map(str, b))}\n"
    cases = {
        "p90001": (MEMBER, member_in, f"{sum(x in set(a) for x in b)}\n"),
        "p90002": (PLAIN, "1 2 3 4\n", "10\n"),
        "p90003": (PROD, "6 7\n", "42\n"),
        "p90004": (WRONG, "1\n", "2\n"),
    }
    tests = root / "tests"
    lines = []
    for pid, (code, stdin, expected) in cases.items():
        (tests / pid).mkdir(parents=True)
        (tests / pid / "input.0.txt").write_text(stdin)
        (tests / pid / "output.0.txt").write_text(expected)
        lines.append(json.dumps({"problem_id": pid, "input": code}) + "\n")
    (root / "in.jsonl").write_text("".join(lines))
    (root / "small.jsonl").write_text("".join(lines[1:3]))  # the two quick rows
    return root / "in.jsonl", tests


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _write_rows(tmp_path_factory.mktemp("rows"))


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _config(root: Path) -> FasterPyConfig:
    return FasterPyConfig.load(root, {"generation.backend": "rules", "attempts": 1, "candidates": 1,
                                      "use_retrieval": False})


def _read(path: Path) -> dict[str, dict]:
    return {r["problem_id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_ray_batch_writes_the_rows_the_local_runner_writes(rows, ray_cluster, tmp_path) -> None:
    inp, tests = rows
    cfg = _config(tmp_path)
    local = run_batch(inp, tests, tmp_path / "local.jsonl", cfg)
    remote = run_batch(inp, tests, tmp_path / "ray.jsonl", cfg, ray=RaySettings())
    assert (local.done, remote.done) == (4, 4)
    mine, theirs = _read(tmp_path / "local.jsonl"), _read(tmp_path / "ray.jsonl")
    assert mine["p90001"]["fasterpy_status"] == "optimized"  # one row really changes
    for pid, row in mine.items():
        other = theirs[pid]
        for col in ("fasterpy_key", "fasterpy_status", "generated_answers", "fasterpy_error"):
            assert other[col] == row[col], (pid, col)
        assert row["fasterpy_pid"] == os.getpid() and "fasterpy_ray_node" not in row
        assert other["fasterpy_pid"] != os.getpid() and other["fasterpy_node"] and other["fasterpy_ray_node"]
    assert mine["p90002"]["generated_answers"] == PLAIN  # no verified improvement: the original
    # resumable the same way: nothing is redone on Ray either
    assert run_batch(inp, tests, tmp_path / "ray.jsonl", cfg, ray=RaySettings()).skipped == 4


def _kill_once(marker: Path, pid: str):  # runs in the Ray worker, before each try of a row
    def hook(job: RowJob) -> None:
        if job.problem_id == pid and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
    return hook


def _kill_always(pid: str, raise_on: str):
    def hook(job: RowJob) -> None:
        if job.problem_id == pid:
            os.kill(os.getpid(), signal.SIGKILL)
        if job.problem_id == raise_on:
            raise ValueError("boom")
    return hook


def test_a_worker_killed_while_running_a_row_is_retried(rows, ray_cluster, tmp_path) -> None:
    inp, tests = rows
    marker = tmp_path / "killed"
    out = tmp_path / "out.jsonl"
    summary = run_batch(inp.with_name("small.jsonl"), tests, out, _config(tmp_path),
                        ray=RaySettings(before_row=_kill_once(marker, "p90002")))
    assert marker.exists()  # the worker really died once
    got = _read(out)
    assert set(got) == {"p90002", "p90003"} and summary.errors == 0
    assert got["p90002"]["fasterpy_status"] == "no_improvement"
    assert got["p90002"]["fasterpy_pid"] != int(marker.read_text())  # finished by another worker


def test_rows_that_kill_every_worker_or_raise_are_recorded_as_failed(rows, ray_cluster, tmp_path) -> None:
    inp, tests = rows
    out = tmp_path / "out.jsonl"
    summary = run_batch(inp.with_name("small.jsonl"), tests, out, _config(tmp_path),
                        ray=RaySettings(max_retries=1, before_row=_kill_always("p90003", raise_on="p90002")))
    got = _read(out)
    assert set(got) == {"p90002", "p90003"} and summary.errors == 2
    bad = got["p90003"]
    assert bad["fasterpy_status"] == "error" and bad["generated_answers"] == PROD
    assert "died on all 2 tries" in bad["fasterpy_error"] and "\n" not in bad["fasterpy_error"]
    raised = got["p90002"]  # an exception in the row is no dead worker: reported, not retried
    assert raised["fasterpy_error"] == "the row raised on its Ray worker: ValueError: boom"


def test_batch_without_ray_never_imports_ray(rows, tmp_path) -> None:
    inp, tests = rows
    out = tmp_path / "out.jsonl"
    argv = ["fasterpy", "batch", str(inp.with_name("small.jsonl")), "--tests", str(tests), "-o", str(out),
            "--backend", "rules", "--attempts", "1", "--candidates", "1", "--no-retrieval",
            "--budget", "30", "--max-concurrency", "2"]
    probe = (f"import sys; sys.argv = {argv!r}; from fasterpy_tui.cli import main\n"
             "code = 0\ntry: main()\nexcept SystemExit as exc: code = exc.code\n"
             "print('RAY-IMPORTED' if 'ray' in sys.modules else 'NO-RAY'); raise SystemExit(code)")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-1] == "NO-RAY", res.stdout
    assert set(_read(out)) == {"p90002", "p90003"}


def test_eval_retimes_here_and_shows_where_rows_ran(rows, tmp_path, fasterpy_bin) -> None:
    import socket

    inp, tests = rows
    out = tmp_path / "out.jsonl"
    run_batch(inp.with_name("small.jsonl"), tests, out, _config(tmp_path))
    cmd = [str(fasterpy_bin), "eval", str(out), "--tests", str(tests), "--workers", "1", "--no-progress"]
    res = subprocess.run([*cmd, "--json", "--report", str(tmp_path / "rep.jsonl")], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    options = json.loads(res.stdout)["options"]
    host = socket.gethostname()
    assert options["timed_on"] == host and options["generated_on"] == {host: 2}
    report = [json.loads(line) for line in (tmp_path / "rep.jsonl").read_text().splitlines()]
    assert {(r["generated_on"], r["generated_pid"]) for r in report} == {(host, os.getpid())}
    table = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "timings re-measured on this machine" in table.stdout and f"{host} (2)" in table.stdout


def test_cli_batch_ray_local_starts_a_cluster_and_writes_every_row(rows, tmp_path, fasterpy_bin) -> None:
    inp, tests = rows
    out = tmp_path / "out.jsonl"
    cmd = [str(fasterpy_bin), "batch", str(inp.with_name("small.jsonl")), "--tests", str(tests), "-o", str(out),
           "--backend", "rules", "--attempts", "1", "--candidates", "1", "--no-retrieval", "--ray", "local"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "2 row(s) processed" in res.stderr
    got = _read(out)
    assert set(got) == {"p90002", "p90003"} and all(r["fasterpy_ray_node"] for r in got.values())
