"""graph.profile: a real driver run under cProfile in a subprocess, ranked and named by qualname."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from graph.profile import FunctionTiming, hottest_in_file, profile_driver
from harness.errors import FasterPyError

# slow busy-waits 0.5 s; everything else together takes well under a hundredth of that
APP = '''
import time


def slow(n):
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        pass
    return n


def fast(n):
    return n + 1


def decorate(fn):
    return fn


class Box:
    @decorate
    def tiny(self, n):
        return fast(n)


if __name__ == "__main__":
    for i in range(3):
        fast(i)
    Box().tiny(1)
    slow(1)
'''


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\nversion = '0'\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


def test_main_block_ranks_the_planted_slow_function_first(tmp_path):
    root = _project(tmp_path, {"app.py": APP})
    timings = profile_driver(None, root / "app.py")
    assert timings[0].qualname == "slow" and timings[0].share > 0.5
    assert timings[0].cum_s > 50 * sum(t.cum_s for t in timings[1:])
    by_name = {t.qualname: t for t in timings}
    assert set(by_name) == {"slow", "fast", "Box.tiny", "decorate"}
    assert by_name["fast"].calls == 4 and by_name["Box.tiny"].calls == 1
    assert by_name["slow"] == FunctionTiming("slow", str(root / "app.py"), 5, by_name["slow"].self_s,
                                             by_name["slow"].cum_s, 1, by_name["slow"].share)
    assert by_name["Box.tiny"].line == 22  # the def, not its decorator
    assert [t.cum_s for t in timings] == sorted((t.cum_s for t in timings), reverse=True)


def test_pytest_driver_lists_project_code_not_tests_or_libraries(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    root = _project(tmp_path, {"app.py": APP, "tests/test_app.py": """
        from app import Box, fast, slow

        def test_all():
            assert fast(1) == 2 and Box().tiny(1) == 2 and slow(3) == 3
    """})
    timings = profile_driver("pytest -q -p no:cacheprovider tests/", cwd=root)
    assert timings[0].qualname == "slow"
    assert {Path(t.path) for t in timings} == {root / "app.py"}  # no test file, no pytest, no stdlib


def test_hottest_in_file_keeps_that_files_targets(tmp_path):
    root = _project(tmp_path, {"app.py": APP, "bench.py": """
        import app

        def drive():
            app.slow(1)
            app.fast(1)

        drive()
    """})
    timings = profile_driver("python bench.py", cwd=root)
    assert timings[0].qualname == "drive"  # bench's own function is the project's too
    assert [t.qualname for t in hottest_in_file(timings, root / "app.py", 2)] == ["slow", "fast"]
    with pytest.raises(FasterPyError, match="never called a function of"):
        hottest_in_file([t for t in timings if t.qualname == "drive"], root / "app.py", 2)


@pytest.mark.parametrize(("driver", "files", "needle"), [
    ("python nope.py", {}, r"runs nope\.py, which is not found in .* — check the script's path"),
    ("pytest missing_dir/", {}, r"names missing_dir/, which pytest did not find in .* — check the test path"),
    ("python -m no_such_module", {}, r"is not found: No module named no_such_module — check"),
    ("python only_stdlib.py", {"only_stdlib.py": "import json\njson.dumps(list(range(100)))\n"},
     r"has no function of the project .* in it — give a driver"),
    ("python boom.py", {"boom.py": "def f():\n    return 1 / 0\n\nf()\n"},
     r"crashed: ZeroDivisionError: division by zero \(at .*boom\.py:2\) — fix it"),
    ("ls -l", {}, r"must be a `python …` or `pytest …` command line"),
])
def test_bad_drivers_are_one_line_with_what_to_do(tmp_path, monkeypatch, driver, files, needle):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    root = _project(tmp_path, files)
    with pytest.raises(FasterPyError, match=needle) as info:
        profile_driver(driver, cwd=root)
    assert "\n" not in str(info.value)


def test_nothing_to_run(tmp_path):
    root = _project(tmp_path, {"lib.py": "def f():\n    return 1\n"})
    with pytest.raises(FasterPyError, match=r"has no `if __name__ == \"__main__\":` block to run — give a driver"):
        profile_driver(None, root / "lib.py")
    with pytest.raises(FasterPyError, match="nothing to run"):
        profile_driver(None, cwd=root)
