"""The app under Textual's pilot at 80×24, without running the pipeline: picker, function list,
code view, help, settings, themes, and a refused write when nothing was run."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from fasterpy_tui.app import FasterPyApp
from fasterpy_tui.screens.help import HelpScreen
from fasterpy_tui.screens.main import MainScreen
from fasterpy_tui.screens.settings import SettingsScreen
from fasterpy_tui.widgets.code_view import CodeView
from fasterpy_tui.widgets.function_list import FunctionList


def sync(test):
    """Run an async pilot test on a fresh event loop (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


@sync
async def test_functions_listed_with_spans_and_code_follows_highlight(example):
    app = FasterPyApp(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MainScreen)
        functions = screen.query_one(FunctionList)
        names = list(functions.functions)
        assert "pairwise_close" in names and "running_means" in names and "Reading.__init__" in names
        labels = [str(functions.get_option_at_index(i).prompt) for i in range(functions.option_count)]
        assert any(label.startswith("pairwise_close L") for label in labels)

        index = names.index("pairwise_close")
        functions.highlighted = index
        await pilot.pause()
        code = screen.query_one(CodeView)
        assert code.border_title == "Code — pairwise_close"
        await pilot.press("space")
        functions.highlighted = names.index("running_means")
        await pilot.press("space")
        await pilot.pause()
        assert sorted(screen.selected_targets()) == ["pairwise_close", "running_means"]

        before = example.read_bytes()
        await pilot.press("a")  # accept with nothing run: refused, nothing written
        await pilot.pause()
        assert "run first" in str(screen.query_one("#status").render())
        assert example.read_bytes() == before


@sync
async def test_help_lists_every_binding(example):
    app = FasterPyApp(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(f"{k} {d}" for _, bindings in app.help_sections() for k, d in _rows(bindings))
        for binding in [*MainScreen.BINDINGS, *FasterPyApp.BINDINGS]:
            assert binding.description in text
        for key in ("ctrl+r", "esc", "a", "r", "n", "p", "space", "h", "u", "?", "q"):
            assert key in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


def _rows(bindings):
    from fasterpy_tui.screens.help import binding_rows

    return binding_rows(bindings)


@sync
async def test_settings_are_saved_through_fasterpy_config(example):
    from graph.config import FasterPyConfig

    app = FasterPyApp(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#attempts").value = "5"
        app.screen.query_one("#threshold").value = "1.25"
        app.screen.query_one("#model").value = "qwen2.5-coder-0.5b"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    saved = example.parent / "fasterpy.toml"
    assert saved.is_file()
    cfg = FasterPyConfig.load(example.parent)
    assert cfg.attempts == 5 and cfg.speedup_threshold == 1.25
    assert cfg.generation.model == "qwen2.5-coder-0.5b" and cfg.generation.backend == "rules"


@sync
async def test_bad_setting_is_refused_with_a_message(example):
    app = FasterPyApp(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#attempts").value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # still open: nothing saved
    assert not (example.parent / "fasterpy.toml").exists()


@sync
async def test_file_picker_opens_the_chosen_file(tmp_path, example):
    (tmp_path / "notes.txt").write_text("not python")
    app = FasterPyApp(None, root=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#picker-tree")
        labels = [str(child.label) for child in tree.root.children]
        assert labels == ["slow_stats.py"]  # only Python files
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.screen.session.path == example.resolve()


@sync
async def test_light_and_dark_themes(example):
    app = FasterPyApp(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.current_theme.dark
        await pilot.press("d")
        await pilot.pause()
        assert not app.current_theme.dark
        await pilot.press("d")
        await pilot.pause()
        assert app.current_theme.dark


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "fasterpy-tui"
    out = subprocess.run([str(exe), str(tmp_path / "nope.py")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error:") and "Traceback" not in out.stderr


@sync
async def test_config_flag_reads_and_saves_that_file(example, tmp_path):
    from fasterpy_tui.config_source import load_config

    custom = tmp_path / "team-settings.toml"
    custom.write_text("attempts = 4\n[generation]\nbackend = \"rules\"\n")
    assert load_config(custom, example.parent).attempts == 4
    app = FasterPyApp(example, config_path=custom)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert app.screen.query_one("#attempts").value == "4"
        app.screen.query_one("#attempts").value = "2"
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert load_config(custom, example.parent).attempts == 2
    assert not (example.parent / "fasterpy.toml").exists()
