"""`fasterpy-tui [FILE]`: optimize a file's functions from the keyboard, never risking the code.

Start-up cost matters (see benchmarks/tui_latency.py): the pipeline (LangGraph, backends) is only
imported when a run starts, inside the worker thread."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textual.app import App
from textual.binding import Binding

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
    ) -> None:
        super().__init__()
        self.path = Path(path) if path else None
        self.targets = targets or []
        self.config_path = Path(config_path) if config_path else None
        self.root = Path(root) if root else Path.cwd()
        self._config = config
        if theme:
            self.theme = theme

    @property
    def config(self):
        """The pipeline configuration (graph.config.FasterPyConfig), loaded on first use."""
        if self._config is None:
            from graph.config import FasterPyConfig

            self._config = load_config(self.config_path, self.path.parent if self.path else self.root)
        return self._config

    @config.setter
    def config(self, value) -> None:
        self._config = value

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
        try:
            session = Session.open(path)
        except FasterPyError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            if self.path is not None:
                self.exit(return_code=2, message=f"error: {exc}")
            return
        self.push_screen(MainScreen(session, self.targets))

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

    def action_settings(self) -> None:
        from fasterpy_tui.screens.settings import SettingsScreen, settings_target

        try:
            config = self.config
        except FasterPyError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.push_screen(SettingsScreen(config, settings_target(config, self.config_path, self.path)))

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


def load_config(config_path: Path | None, start: Path):
    """--config FILE is read as it is (any name; `[tool.fasterpy]` or top-level keys); a missing
    FILE means defaults that Save will create; without --config, the nearest config file wins."""
    import tomllib

    from graph.config import FasterPyConfig

    if config_path is None:
        return FasterPyConfig.load(start)
    if config_path.is_dir():
        return FasterPyConfig.load(config_path)
    if not config_path.exists():
        return FasterPyConfig.from_dict({})
    try:
        data = tomllib.loads(config_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FasterPyError(f"cannot read settings from {config_path}: {exc} — fix or remove the file") from None
    table = data.get("tool", {}).get("fasterpy", data) if isinstance(data.get("tool"), dict) else data
    config = FasterPyConfig.from_dict(table)
    config.source = str(config_path)
    return config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fasterpy-tui",
        description="Pick functions, watch the verify loop, inspect suggestions and accept diffs by keyboard.",
    )
    parser.add_argument("file", nargs="?", help="Python file to optimize (a file picker opens without it)")
    parser.add_argument("-f", "--function", action="append", default=[], dest="targets", help="preselect a target (repeatable)")
    parser.add_argument(
        "--config",
        help="settings file to read and to save the settings screen to (default: the nearest fasterpy.toml "
        "or pyproject.toml [tool.fasterpy]; saving then writes fasterpy.toml beside the file)",
    )
    parser.add_argument("--light", action="store_true", help="start in the light theme")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        if args.file:
            path = Path(args.file)
            if not path.is_file():
                raise FasterPyError(f"{path} does not exist — pass a Python source file")
        app = FasterPyApp(args.file, args.targets, config_path=args.config, theme="textual-light" if args.light else None)
        code = app.run()
    except FasterPyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
