"""The `fasterpy-tui` app: optimize a file's functions from the keyboard, never risking the code.
Started by `fasterpy tui [FILE]` or `fasterpy-tui [FILE]` (fasterpy_tui.commands.tui_cmd).

The app opens the file, gives the main screen its session and configuration, and answers the
screens' messages (OpenSettings); the screens never import it. Start-up cost matters (see
benchmarks/tui_latency.py): the pipeline (LangGraph, backends) is only imported when a run starts,
inside the worker thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from fasterpy_tui.config_source import ConfigSource
from fasterpy_tui.messages import OpenSettings
from fasterpy_tui.screens.help import HelpScreen
from fasterpy_tui.session import Session
from harness.errors import FasterPyError


class FasterPyApp(App):
    CSS_PATH = "fasterpy.tcss"
    TITLE = "fasterpy-tui"
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("d", "toggle_dark", "Light/dark", show=False),
    ]

    def __init__(
        self,
        path: str | Path | None = None,
        targets: list[str] | None = None,
        config=None,
        config_path: str | Path | None = None,
        root: str | Path | None = None,
        theme: str | None = None,
        overrides: dict[str, Any] | None = None,
        backend: Any = None,
    ) -> None:
        """`overrides`: dotted settings given on the command line (e.g. {"budget_s": 60}), applied
        over the settings file; `backend`: a generation backend every run uses instead of the one
        the settings name (scripts and tests)."""
        super().__init__()
        self.path = Path(path) if path else None
        self.targets = targets or []
        self.config_path = Path(config_path) if config_path else None
        self.root = Path(root) if root else Path.cwd()
        self.configs = ConfigSource(self.config_path, self.path.parent if self.path else self.root, config, overrides)
        self.backend = backend
        if theme:
            self.theme = theme

    def on_mount(self) -> None:
        if self.path is not None:
            self.open_file(self.path)
        else:
            from fasterpy_tui.screens.picker import FilePickerScreen

            self.push_screen(FilePickerScreen(self.root), callback=self.open_file)

    def open_file(self, path: Path | None) -> None:
        from fasterpy_tui.screens.main import MainScreen

        if path is None:
            return
        self.path = Path(path)
        self.configs.start = self.path.parent  # a file from the picker: its settings, not the root's
        try:
            session = Session.open(path)
        except FasterPyError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            if self.path is not None:
                self.exit(return_code=2, message=f"error: {exc}")
            return
        self.push_screen(MainScreen(session, self.configs, self.targets, backend=self.backend))

    def help_sections(self) -> list[tuple[str, list]]:
        from fasterpy_tui.screens.main import MainScreen
        from fasterpy_tui.widgets.diff_view import DiffView
        from fasterpy_tui.widgets.suggestions_table import SuggestionsTable

        return [
            ("Everywhere", list(self.BINDINGS)),
            ("Main screen", list(MainScreen.BINDINGS)),
            ("Function list", [("space, enter", "", "Select / unselect a target"), ("up, down", "", "Show its code")]),
            ("Diff view", list(DiffView.BINDINGS)),
            ("Suggestions", list(SuggestionsTable.BINDINGS) + [("click header", "", "Sort by that column")]),
            ("Screens", [("tab, shift+tab", "", "Move focus"), ("ctrl+p", "", "Command palette (themes)"),
                         ("ctrl+q", "", "Quit (also during a run: it is cancelled first)")]),
        ]

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def on_open_settings(self, _message: OpenSettings) -> None:
        from fasterpy_tui.screens.settings import SettingsScreen, settings_target

        try:
            config = self.configs.get()
        except FasterPyError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        target = settings_target(config, self.config_path, self.path)
        self.push_screen(SettingsScreen(config, target), callback=self._settings_closed)

    def _settings_closed(self, saved) -> None:
        """The settings screen's result: the configuration it saved, or None when closed unsaved."""
        if saved is not None:
            self.configs.replace(saved)

    def on_unmount(self) -> None:
        from fasterpy_tui.runner import close_sandbox_pool

        close_sandbox_pool()  # the warm sandbox workers end with the app

    async def action_quit(self) -> None:
        """Quitting during a run cancels it first, so no sandbox outlives the app."""
        from fasterpy_tui.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen) and screen.running:
                screen.action_cancel()
        self.exit()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"
