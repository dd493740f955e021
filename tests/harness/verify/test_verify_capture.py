"""harness.verify.capture: real driver runs under the recorder (main block, python script, pytest) and the
clear errors for drivers that crash or never call the target."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.errors import FasterPyError
from harness.verify.capture import capture_calls

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


@pytest.fixture()
def examples(tmp_path: Path) -> Path:
    dst = tmp_path / "examples"
    shutil.copytree(EXAMPLES, dst)
    return dst


def test_main_block_driver_records_args_results_and_methods(examples: Path):
    path = examples / "slow_stats.py"
    before = path.read_bytes()
    cap = capture_calls(path, ["pairwise_close", "running_means", "coldest", "Reading.__repr__"])
    assert path.read_bytes() == before
    assert [len(cap.calls[t]) for t in cap.targets] == [3, 3, 3, 3]
    call = cap.calls["running_means"][0]
    assert call.exception is None and call.result[0] == "list" and len(call.result[1]) == 26
    assert not call.mutated
    # a user-class result is captured by class name and state
    kind, cls, state = cap.calls["coldest"][0].result
    assert (kind, cls) == ("obj", "Reading") and dict(state)["sensor"].startswith("s")
    # the method's `self` is part of the recorded arguments
    args_after = cap.calls["Reading.__repr__"][0].args_after
    assert args_after[1][0][1][0][1] == "Reading"
    assert "captured pairwise_close: 3 of 3 calls" in cap.describe()
    assert not list(examples.rglob("__pycache__"))


def test_python_script_driver_records_method_calls(examples: Path, monkeypatch: pytest.MonkeyPatch):
    inv = examples / "inventory"
    cap = capture_calls(inv / "inventory.py", ["Inventory.restock_list"], driver="python bench.py", cwd=inv)
    calls = cap.calls["Inventory.restock_list"]
    assert len(calls) == 3
    assert calls[-1].size > calls[0].size
    assert calls[0].result == ("list", ())


def test_pytest_driver_records_results_and_exceptions(examples: Path, monkeypatch: pytest.MonkeyPatch):
    # third-party pytest plugins in this venv (langsmith) take seconds to import; not what is tested
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    inv = examples / "inventory"
    cap = capture_calls(inv / "inventory.py", ["Inventory.restock_list"], driver="pytest -q tests", cwd=inv)
    calls = cap.calls["Inventory.restock_list"]
    assert len(calls) == 2
    assert calls[0].result == ("list", ("a", "b"))
    assert calls[1].exception == ("KeyError", "'zzz'")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_mutation_stdout_recursion_and_cap_with_size_spread(tmp_path: Path):
    path = _write(tmp_path, "mod.py", """
        def bump(xs):
            print("bumping", len(xs))
            for i in range(len(xs)):
                xs[i] += 1

        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)

        if __name__ == "__main__":
            for n in range(200):
                bump(list(range(n)))
            fact(20)
    """)
    cap = capture_calls(path, ["bump", "fact"], max_calls=10)
    bump = cap.calls["bump"]
    assert len(bump) == 10 and cap.seen["bump"] == 200
    sizes = [c.size for c in bump]
    assert min(sizes) == min(sizes) and max(sizes) > 10 * min(sizes)  # spread: small and large kept
    assert [c.order for c in bump] == sorted(c.order for c in bump)  # call order preserved
    assert all(c.mutated for c in bump if c.size > 40)
    assert bump[-1].stdout.startswith("bumping ")
    assert len(cap.calls["fact"]) == 1  # recursion: only the outermost call is recorded
    assert cap.calls["fact"][0].result == 2432902008176640000


def test_driver_that_crashes_is_a_clear_error(tmp_path: Path):
    path = _write(tmp_path, "crash.py", """
        def f(x):
            return x * 2

        if __name__ == "__main__":
            f(1)
            raise RuntimeError("driver broke")
    """)
    with pytest.raises(FasterPyError, match="(?s)failed: the driver crashed.*RuntimeError: driver broke.*--driver"):
        capture_calls(path, ["f"])


def test_driver_that_never_calls_the_target(tmp_path: Path):
    path = _write(tmp_path, "idle.py", """
        def f(x):
            return x * 2

        if __name__ == "__main__":
            print("nothing to see")
    """)
    with pytest.raises(FasterPyError, match="never called 'f'.*--driver"):
        capture_calls(path, ["f"])
    other = _write(tmp_path, "other.py", "print('does not import idle')\n")
    with pytest.raises(FasterPyError, match="never loaded idle.py"):
        capture_calls(path, ["f"], driver=f"python {other}", cwd=tmp_path)


def test_bad_drivers(tmp_path: Path):
    # A bad file or target name is refused before capture, by graph.source (tests/graph/test_source.py).
    path = _write(tmp_path, "m.py", """
        def f():
            pass
    """)
    with pytest.raises(FasterPyError, match="no `if __name__"):
        capture_calls(path, ["f"])
    with pytest.raises(FasterPyError, match="must be a `python …` or `pytest …`"):
        capture_calls(path, ["f"], driver="bash run.sh")


def test_unpicklable_arguments_are_reported(tmp_path: Path):
    path = _write(tmp_path, "gen.py", """
        def consume(it):
            return sum(it)

        if __name__ == "__main__":
            consume(x for x in range(3))
    """)
    with pytest.raises(FasterPyError, match="could not be recorded"):
        capture_calls(path, ["consume"])


def test_pytest_driver_that_collects_nothing_says_why(examples: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    inv = examples / "inventory"
    with pytest.raises(FasterPyError, match="(?s)pytest exited with code 4.*not found"):
        capture_calls(inv / "inventory.py", ["Inventory.restock_list"], driver="pytest -q tests/nope.py", cwd=inv)


def test_stdin_program_as_function_target_points_to_program_mode(tmp_path: Path):
    path = _write(tmp_path, "prog.py", """
        def solve(n):
            return n * 2

        if __name__ == "__main__":
            print(solve(int(input())))
    """)
    with pytest.raises(FasterPyError, match="(?s)reads standard input.*EOFError.*program mode"):
        capture_calls(path, ["solve"])


def test_main_block_capture_in_a_python_that_preloads_nothing(examples: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    """A non-editable install has no .pth file importing importlib.machinery at start-up (`python -S`
    is that situation); the recorder's import hook once imported it inside find_spec and recursed
    until RecursionError."""
    preloaded = subprocess.run([sys.executable, "-S", "-c", "import sys; print('importlib.machinery' in sys.modules)"],
                               capture_output=True, text=True, timeout=60)
    assert preloaded.stdout.strip() == "False"  # else this test no longer tests the plain-install start-up
    python_s = tmp_path / "python-S"
    python_s.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S "$@"\n')
    python_s.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python_s))
    cap = capture_calls(examples / "slow_stats.py", ["pairwise_close"])
    assert len(cap.calls["pairwise_close"]) == 3
