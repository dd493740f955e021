"""File picker shown when `fasterpy-tui` starts without a file: a tree of Python files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DirectoryTree, Footer, Header, Static

SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", ".mypy_cache", ".pytest_cache", ".tox"}


class PythonTree(DirectoryTree):
    """Only directories and .py files; hidden and tool directories left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith(".") or path.name in SKIP_DIRS or path.name.endswith(".egg-info"):
                continue
            if path.is_dir() or path.suffix == ".py":
                yield path


class FilePickerScreen(Screen[Path]):
    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def compose(self):
        yield Header()
        with Vertical(id="picker"):
            yield Static("Pick a Python file to optimize (enter opens it).", id="picker-hint")
            yield PythonTree(self.root, id="picker-tree")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(PythonTree)
        tree.root.set_label(f"{self.root.name or self.root}/")  # the short name: the same on every machine
        tree.focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(Path(event.path))
