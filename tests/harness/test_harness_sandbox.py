"""Hostile programs, one per test, each run through a real warm pool; the pool must keep answering."""

from __future__ import annotations

import os
import signal

import pytest

from harness.program import run_program

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


def assert_pool_healthy(pool) -> None:
    res = run_program(ADD, ["2 3\n", "10 -4\n"], runs=2, drop=1, pool=pool)
    assert res.status == "ok", res
    assert res.stdouts == ["5\n", "6\n"]


def run1(pool, code: str, stdin: str = "", runs: int = 1):
    return run_program(code, [stdin], runs=runs, drop=0, pool=pool)


def test_plain_program_is_timed_by_eq2(pool):
    res = run_program(ADD, ["1 2\n", "3 4\n"], runs=4, drop=1, pool=pool)
    assert res.ok and res.stdouts == ["3\n", "7\n"]
    for test in res.tests:
        assert len(test.runtimes) == 4
        assert test.mean_runtime == pytest.approx(sum(test.runtimes[1:]) / 3)
        assert test.stdout_stable
    assert res.runtime == pytest.approx((res.tests[0].mean_runtime + res.tests[1].mean_runtime) / 2)


def test_cpu_clock_is_recorded_and_selectable(pool):
    code = "s = 0\nfor i in range(20000):\n    s += i\nprint(s)\n"
    wall = run_program(code, [""], runs=3, drop=1, pool=pool)
    cpu = run_program(code, [""], runs=3, drop=1, pool=pool, clock="cpu")
    for res in (wall, cpu):
        t = res.tests[0]
        assert len(t.wall_runtimes) == len(t.cpu_runtimes) == 3
        assert all(x > 0 for x in t.wall_runtimes + t.cpu_runtimes)
    assert wall.tests[0].runtimes == wall.tests[0].wall_runtimes
    assert cpu.tests[0].runtimes == cpu.tests[0].cpu_runtimes
    assert cpu.runtime == pytest.approx(sum(cpu.tests[0].cpu_runtimes[1:]) / 2)


def test_infinite_loop_times_out(pool):
    res = run1(pool, "while True:\n    pass\n")
    assert res.status == "timeout"
    assert res.runtime is None
    assert_pool_healthy(pool)


def test_memory_bomb_hits_memory_limit(pool):
    # A generous timeout: on a loaded machine, faulting in even 128 MiB can take a while.
    limits = pool.limits.with_(memory_mb=128, timeout_s=20.0)
    res = run_program("x = []\nwhile True:\n    x.append(' ' * 10**6)\n", [""], runs=1, drop=0, pool=pool, limits=limits)
    assert res.status == "memory"
    assert res.tests[0].exception["type"] == "MemoryError"
    assert_pool_healthy(pool)


def test_100mb_of_output_is_capped_and_partial_output_kept(pool):
    code = "import sys\nfor _ in range(1000):\n    sys.stdout.write('y' * 100_000)\n"
    res = run1(pool, code)
    assert res.status == "output_limit"
    out = res.tests[0].stdout
    assert len(out) == pool.limits.output_bytes
    assert set(out) == {"y"}
    assert_pool_healthy(pool)


def test_print_flood_is_capped(pool):
    res = run1(pool, "while True:\n    print('spam ' * 20)\n")
    assert res.status == "output_limit"
    assert_pool_healthy(pool)


def test_deep_recursion_is_reported(pool):
    res = run1(pool, "def f(n):\n    return f(n + 1)\nf(0)\n")
    assert res.status == "exception"
    assert res.tests[0].exception["type"] == "RecursionError"
    assert "line 2, in f" in res.tests[0].exception["traceback"]
    assert_pool_healthy(pool)


def test_unbounded_recursion_with_raised_limit_is_stopped(pool):
    code = "import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\n"
    res = run1(pool, code)
    assert res.status in {"exception", "memory", "killed", "timeout"}
    assert_pool_healthy(pool)


def test_sys_exit_3_mid_output_keeps_partial_output(pool):
    res = run1(pool, "print('partial')\nimport sys\nsys.exit(3)\nprint('never')\n")
    assert res.status == "exit"
    assert res.tests[0].exit_code == 3
    assert res.tests[0].stdout == "partial\n"
    assert_pool_healthy(pool)


def test_sys_exit_0_is_a_normal_end(pool):
    res = run1(pool, "print('done')\nexit()\n", runs=2)
    assert res.ok and res.stdouts == ["done\n"]


def test_os_exit_0_is_reported_and_timed(pool):
    res = run1(pool, "import os, sys\nprint('flushed')\nsys.stdout.flush()\nos._exit(0)\n", runs=2)
    assert res.status == "ok"
    assert res.stdouts == ["flushed\n"]
    assert len(res.tests[0].runtimes) == 2 and all(t >= 0 for t in res.tests[0].runtimes)
    res = run1(pool, "import os\nos._exit(4)\n")
    assert res.status == "exit" and res.tests[0].exit_code == 4
    assert_pool_healthy(pool)


def test_killing_itself_is_reported(pool):
    res = run1(pool, "import os\nprint('before')\nos.kill(os.getpid(), 9)\n")
    assert res.status == "killed"
    assert res.tests[0].signal == "SIGKILL"
    assert_pool_healthy(pool)


def test_fork_attempts_are_refused(pool):
    res = run1(pool, "import os\npid = os.fork()\nprint('forked', pid)\n")
    if pool.features.get("seccomp") or pool.features.get("nproc_limit"):
        assert res.status == "exception"
        assert res.tests[0].exception["type"] in {"BlockingIOError", "PermissionError", "OSError"}
    else:  # no fork barrier on this OS: the forked copy is killed with the run's process group
        assert res.status in {"ok", "exception"}
    res = run1(pool, "import subprocess\nsubprocess.run(['echo', 'hi'])\n")
    assert res.status == "exception"
    assert_pool_healthy(pool)


def test_program_cannot_kill_its_worker(pool):
    before = pool.worker_pids()
    res = run1(pool, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")
    if pool.features.get("seccomp"):
        assert res.status == "exception"
        assert res.tests[0].exception["type"] == "PermissionError"
        assert pool.worker_pids() == before
    assert_pool_healthy(pool)


def test_output_through_replaced_or_closed_streams(pool):
    cases = {
        "import sys\nprint('a')\nsys.stdout.close()\n": "a\n",
        "import sys, io\nsys.stdout = io.StringIO()\nprint('hidden')\nsys.__stdout__.write('b\\n')\n": "b\n",
        "f = open(1, 'w', closefd=False)\nf.write('c\\n')\n": "c\n",  # left open: flushed at exit
    }
    for code, expected in cases.items():
        res = run1(pool, code)
        assert res.ok, (code, res)
        assert res.stdouts == [expected], code


def test_reading_past_end_of_stdin(pool):
    res = run1(pool, "a = input()\nb = input()\n", stdin="only one line\n")
    assert res.status == "exception"
    assert res.tests[0].exception["type"] == "EOFError"
    res = run1(pool, "import sys\nprint(repr(sys.stdin.read()), repr(sys.stdin.read()))\n", stdin="x\n")
    assert res.ok and res.stdouts == ["'x\\n' ''\n"]
    assert_pool_healthy(pool)


def test_stdin_styles_used_by_pie_programs(pool):
    code = "import sys\nn = int(sys.stdin.buffer.readline())\nrest = sys.stdin.buffer.read().split()\nprint(n, len(rest))\n"
    res = run1(pool, code, stdin="3\na b c\n")
    assert res.ok and res.stdouts == ["3 3\n"]
    res = run1(pool, "n, *rest = open(0).read().split()\nprint(n, len(rest))\n", stdin="3\na b c\n")
    assert res.ok and res.stdouts == ["3 3\n"]


def test_written_files_go_to_scratch_and_vanish(pool, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = "import os\nopen('out.txt', 'w').write('data')\nprint(os.path.exists('out.txt'), os.getcwd())\n"
    res = run1(pool, code)
    assert res.ok
    exists, cwd = res.stdouts[0].split()
    assert exists == "True"
    assert os.path.realpath(cwd) != os.path.realpath(tmp_path)
    assert not (tmp_path / "out.txt").exists()
    for _ in range(pool.size * 2):  # every worker's next run starts in an empty directory
        res = run1(pool, "import os\nprint(sorted(os.listdir('.')))\n")
        assert res.stdouts == ["[]\n"]
    assert not os.path.exists(os.path.join(cwd, "out.txt"))
    assert_pool_healthy(pool)


def test_unreadable_and_deeply_nested_leftovers_are_removed(pool):
    code = (
        "import os\n"
        "os.makedirs('locked/inner')\n"
        "open('locked/inner/f.txt', 'w').write('x')\n"
        "os.chmod('locked/inner', 0)\n"
        "os.chmod('locked', 0)\n"
        "path = 'deep'\n"
        "for i in range(300):\n"
        "    os.mkdir(path)\n"
        "    os.chdir(path)\n"
        "open('bottom.txt', 'w').write('x')\n"
        "print('made')\n"
    )
    for _ in range(pool.size * 2):  # reach every worker
        assert run1(pool, code).stdouts == ["made\n"]
        res = run1(pool, "import os\nprint(sorted(os.listdir('.')))\n")
        assert res.stdouts == ["[]\n"]
    assert_pool_healthy(pool)


def test_a_pool_with_network_allowed_reaches_a_local_server():
    import socket
    import threading

    from harness.limits import Limits
    from harness.pool import WorkerPool

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"hello from the test\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    code = (
        "import socket\n"
        f"with socket.create_connection(('127.0.0.1', {port}), timeout=3) as s:\n"
        "    print(s.makefile().readline().strip())\n"
    )
    try:
        with WorkerPool(workers=1, limits=Limits(timeout_s=5), network=True) as net_pool:
            assert not net_pool.features.get("network_isolated")
            res = run1(net_pool, code)
            assert res.ok, res
            assert res.stdouts == ["hello from the test\n"]
    finally:
        server.close()
        thread.join(timeout=5)


def test_writes_outside_the_scratch_directory_are_refused(pool, tmp_path):
    if not pool.features.get("landlock"):
        pytest.skip("no Landlock on this kernel: writes outside scratch are not blocked (see README)")
    target = tmp_path / "escaped.txt"
    res = run1(pool, f"open({str(target)!r}, 'w').write('x')\n")
    assert res.status == "exception"
    assert res.tests[0].exception["type"] == "PermissionError"
    assert not target.exists()
    res = run1(pool, "import tempfile\nwith tempfile.NamedTemporaryFile() as f:\n    f.write(b'ok')\nprint('tmp ok')\n")
    assert res.stdouts == ["tmp ok\n"]  # TMPDIR points into the scratch directory
    assert_pool_healthy(pool)


def test_monkeypatches_do_not_leak_into_the_next_program(pool):
    evil = (
        "import builtins, math, sys, os, collections\n"
        "builtins.print = lambda *a, **k: None\n"
        "builtins.len = lambda x: 42\n"
        "math.sqrt = lambda x: -1\n"
        "collections.Counter = None\n"
        "sys.modules['json'] = None\n"
        "sys.setrecursionlimit(50)\n"
        "os.environ['LEAK'] = 'yes'\n"
        "LEAKED_GLOBAL = 1\n"
        "keep_open = open('f.txt', 'w')\n"
        "os.chdir('/')\n"
    )
    # Every worker of the pool gets the patch, so the check below cannot dodge it by luck.
    for _ in range(pool.size * 2):
        assert run1(pool, evil).ok
    check = (
        "import math, sys, os, json, collections\n"
        "print(math.sqrt(16), len([1, 2]), collections.Counter('aab')['a'], json.dumps(1),\n"
        "      sys.getrecursionlimit() > 50, 'LEAK' in os.environ, 'LEAKED_GLOBAL' in globals(),\n"
        "      os.getcwd() != '/')\n"
    )
    for _ in range(pool.size * 2):
        res = run1(pool, check)
        assert res.ok, res
        assert res.stdouts == ["4.0 2 2 1 True False False True\n"]


def test_each_run_gets_fresh_randomness(pool):
    res = run_program("import random\nprint(random.random())\n", [""] * 4, runs=1, drop=0, pool=pool)
    assert res.ok and len(set(res.stdouts)) == 4  # forked copies do not replay one random stream


def test_environment_is_scrubbed(pool, monkeypatch):
    monkeypatch.setenv("FASTERPY_SECRET_TOKEN", "hunter2")
    res = run1(pool, "import os\nprint('FASTERPY_SECRET_TOKEN' in os.environ, os.environ.get('HOME') == os.getcwd())\n")
    assert res.stdouts == ["False True\n"]


def test_no_network(pool):
    if not pool.features.get("network_isolated"):
        pytest.skip("this OS does not allow a private network namespace; see README 'What the sandbox isolates'")
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('blocked')\n"
    )
    res = run1(pool, code)
    assert res.stdouts == ["blocked\n"]


def test_syntax_error_is_a_status(pool):
    res = run1(pool, "def broken(:\n    pass\n")
    assert res.status == "syntax_error"
    assert res.error["type"] == "SyntaxError"


def test_exception_status_carries_traceback_tail(pool):
    res = run1(pool, "x = 1\ny = [][x]\n")
    assert res.status == "exception"
    exc = res.tests[0].exception
    assert exc["type"] == "IndexError" and "line 2" in exc["traceback"]


def test_stop_on_failure_skips_later_tests(pool):
    code = "n = int(input())\nassert n != 1\nprint(n)\n"
    res = run_program(code, ["1\n", "2\n"], runs=2, pool=pool, stop_on_failure=True)
    assert [t.status for t in res.tests] == ["exception", "skipped"]
    res = run_program(code, ["1\n", "2\n"], runs=2, pool=pool)
    assert [t.status for t in res.tests] == ["exception", "ok"]


def test_dead_worker_is_detected_and_replaced(pool):
    victim = pool.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    for _ in range(pool.size + 1):
        assert_pool_healthy(pool)
    assert victim not in pool.worker_pids()
    assert len(pool.worker_pids()) == pool.size
    assert pool.respawns >= 1


def test_pool_still_answers_after_everything(pool):
    assert_pool_healthy(pool)


def test_close_all_closes_open_pools_and_the_default_pool_comes_back():
    from harness import pool as harness_pool
    from harness.program import run_program

    own = harness_pool.WorkerPool(workers=1)
    shared = harness_pool.default_pool()
    pids = own.worker_pids() + shared.worker_pids()
    assert harness_pool.close_all() >= 2
    assert own._closed and shared._closed
    import psutil

    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert run_program("print(6 * 7)", [""]).tests[0].stdout.strip() == "42"  # re-created on use
