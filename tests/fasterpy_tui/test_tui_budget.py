"""`--budget SECONDS` for the TUI: the same option as `optimize`'s, applied over the settings file,
shown and saved by the settings screen."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from fasterpy_tui.cli import app as cli
from fasterpy_tui.config_source import ConfigSource
from fasterpy_tui.options import BUDGET_OPT


def test_tui_and_optimize_share_the_budget_option():
    import inspect

    from fasterpy_tui.commands.optimize_cmd import optimize_command
    from fasterpy_tui.commands.tui_cmd import tui_command

    for command in (optimize_command, tui_command):
        assert inspect.signature(command).parameters["budget"].default is BUDGET_OPT
    out = CliRunner().invoke(cli, ["tui", "--help"], terminal_width=200)
    assert out.exit_code == 0 and "--budget" in out.output and "SECONDS" in out.output
    bad = CliRunner().invoke(cli, ["tui", "--budget", "0"])
    assert bad.exit_code == 2  # typer refuses it before the app starts


def test_the_budget_override_goes_over_the_settings_file(tmp_path):
    (tmp_path / "fasterpy.toml").write_text("budget_s = 30\nattempts = 4\n")
    assert ConfigSource(None, tmp_path).get().budget_s == 30
    config = ConfigSource(None, tmp_path, overrides={"budget_s": 7.5, "attempts": None}).get()
    assert (config.budget_s, config.attempts) == (7.5, 4)  # None: not given, the file's value stays


def test_the_settings_screen_shows_and_saves_the_budget(example):
    from fasterpy_tui.app import FasterPyApp

    async def drive() -> tuple[str, float]:
        app = FasterPyApp(example, overrides={"budget_s": 42.0})
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            main = app.screen
            await pilot.press("s")
            await pilot.pause()
            field = app.screen.query_one("#budget")
            shown = field.value
            field.value = "90"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is main
            return shown, main.config.get().budget_s

    shown, saved = asyncio.run(drive())
    assert shown == "42" and saved == 90.0
    assert "budget_s = 90" in (example.parent / "fasterpy.toml").read_text()
