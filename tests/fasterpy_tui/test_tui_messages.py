"""The main screen stands alone: given a session and a config source, it runs inside any Textual
app, and asks for settings with a message instead of calling into the app."""

from __future__ import annotations

import asyncio

from textual.app import App

from fasterpy_tui.config_source import ConfigSource
from fasterpy_tui.messages import OpenSettings
from fasterpy_tui.screens.main import MainScreen
from fasterpy_tui.session import Session


class BareApp(App):
    """Not FasterPyApp: only records the messages the screen sends up."""

    def __init__(self, screen: MainScreen) -> None:
        super().__init__()
        self.main = screen
        self.received: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.main)

    def on_open_settings(self, message: OpenSettings) -> None:
        self.received.append(message)


def test_main_screen_posts_open_settings_to_any_app(example, tmp_path):
    async def drive() -> BareApp:
        configs = ConfigSource(None, tmp_path)
        app = BareApp(MainScreen(Session.open(example, journal_root=tmp_path / "journal"), configs, ["pairwise_close"]))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.screen is app.main
            assert app.main.selected_targets() == ["pairwise_close"]
            await pilot.press("s")
            await pilot.pause()
        return app

    app = asyncio.run(drive())
    assert [type(m) for m in app.received] == [OpenSettings]



def test_saved_settings_come_back_to_the_main_screen(example):
    from fasterpy_tui.app import FasterPyApp

    async def drive() -> None:
        app = FasterPyApp(example)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            main = app.screen
            await pilot.press("s")
            await pilot.pause()
            app.screen.query_one("#attempts").value = "5"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is main and main.config.get().attempts == 5
            await pilot.press("s")
            await pilot.pause()
            app.screen.query_one("#attempts").value = "7"
            await pilot.press("escape")  # closed unsaved: the screen keeps what was saved
            await pilot.pause()
            assert app.screen is main and main.config.get().attempts == 5

    asyncio.run(drive())
