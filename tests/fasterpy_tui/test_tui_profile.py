"""`t` in the TUI: a real profile of a file's __main__ block (graph.profile, a real subprocess under
cProfile) sorts the function list by measured time and shows each function's share; `t` again
restores file order; checked targets survive both; a file with nothing to run, or whose __main__
block crashes, says so in one notification line."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest

from fasterpy_tui.app import FasterPyApp
from fasterpy_tui.screens.main import MainScreen
from fasterpy_tui.widgets.function_list import FunctionList

# file order: fast, never, slow — the profile must turn it round; slow does ~50× fast's work
PROGRAM = '''\
def fast(n):
    total = 0
    for i in range(n):
        total += i
    return total


def never():
    return 0


def slow(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


if __name__ == "__main__":
    fast(40_000)
    slow(2_000_000)
'''

LIBRARY = "def f(xs):\n    return sorted(xs)\n"  # no __main__ block, and no driver configured
CRASHES = "def f(xs):\n    return sorted(xs)\n\n\nif __name__ == '__main__':\n    f(None)\n"  # TypeError


def sync(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def make_app(path: Path) -> FasterPyApp:
    from graph.config import FasterPyConfig

    config = FasterPyConfig.load(path.parent)
    config.driver = None  # the file's own __main__ block
    return FasterPyApp(path, config=config)


async def profile(pilot, screen: MainScreen, timeout_s: float = 120.0) -> None:
    """Press t and wait until the profile worker has reported."""
    await pilot.press("t")
    await pilot.pause()
    for _ in range(int(timeout_s / 0.1)):
        if screen.profiling is None:
            break
        await asyncio.sleep(0.1)
    await pilot.pause()
    assert screen.profiling is None, "the profile did not finish"


def labels(functions: FunctionList) -> list[str]:
    return [str(functions.get_option_at_index(i).prompt) for i in range(functions.option_count)]


@sync
async def test_t_sorts_by_measured_time_and_toggles_back(tmp_path):
    target = tmp_path / "hot.py"
    target.write_text(PROGRAM)
    app = make_app(target)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MainScreen)
        functions = screen.query_one(FunctionList)
        assert functions.row_names() == ["fast", "never", "slow"]
        before = labels(functions)
        assert not any("%" in label for label in before)  # no shares until profiled
        functions.highlighted = functions.row_names().index("fast")
        await pilot.press("space")  # check `fast` as a target
        await pilot.pause()

        await profile(pilot, screen)
        assert functions.sorted_by_time
        assert functions.row_names() == ["slow", "fast", "never"]
        slow_label, fast_label, never_label = labels(functions)
        assert slow_label.endswith("slow L12-16") and "%" in slow_label
        assert fast_label.endswith("fast L1-5") and "%" in fast_label
        assert never_label.strip().startswith("—") and "%" not in never_label  # never ran
        slow_share = float(slow_label.split("%")[0])
        fast_share = float(fast_label.split("%")[0])
        assert slow_share > 10 * fast_share and slow_share > 50.0
        assert screen.selected_targets() == ["fast"]  # the check mark moved with its row
        assert "sorted by measured time" in str(screen.query_one("#status").render())

        await pilot.press("t")  # back to file order, shares still shown
        await pilot.pause()
        assert not functions.sorted_by_time
        assert functions.row_names() == ["fast", "never", "slow"]
        assert "%" in labels(functions)[0]
        assert screen.selected_targets() == ["fast"]

        await pilot.press("t")  # the text is unchanged: sorted again without a new profile
        await pilot.pause()
        assert screen.profiling is None
        assert functions.row_names() == ["slow", "fast", "never"]
        assert screen.selected_targets() == ["fast"]


@pytest.mark.parametrize("source", [LIBRARY, CRASHES], ids=["no-main-block", "driver-crashes"])
@sync
async def test_nothing_to_run_or_a_crash_is_one_line(tmp_path, source):
    target = tmp_path / "lib.py"
    target.write_text(source)
    app = make_app(target)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MainScreen)
        functions = screen.query_one(FunctionList)
        before = labels(functions)
        await profile(pilot, screen)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1
        message = errors[0].message
        assert message.startswith("profile failed: ") and "\n" not in message
        assert "Traceback" not in message
        assert labels(functions) == before and not functions.sorted_by_time  # the list is as it was


@sync
async def test_esc_cancels_a_profile_and_leaves_no_process(tmp_path):
    target = tmp_path / "sleepy.py"
    target.write_text("import time\n\n\ndef spin():\n    time.sleep(60)\n\n\nif __name__ == '__main__':\n    spin()\n")
    app = make_app(target)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("t")
        handle = screen.profiling
        assert handle is not None
        for _ in range(300):  # until the driver's process is up
            if handle.new_processes():
                break
            await asyncio.sleep(0.05)
        assert handle.new_processes()
        await pilot.press("escape")
        for _ in range(200):
            if screen.profiling is None:
                break
            await asyncio.sleep(0.05)
        await pilot.pause()
        assert screen.profiling is None
        assert "profile cancelled" in [n.message for n in app._notifications]
        assert not [p for p in handle.new_processes() if p.is_running() and p.status() != "zombie"]
