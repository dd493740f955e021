"""The selected function's source with line numbers and syntax highlighting."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from fasterpy_tui.highlight import code_syntax
from graph.source import FunctionInfo


class CodeView(VerticalScroll):
    """Shows lines start..end of the file; re-renders when the theme flips."""

    BORDER_TITLE = "Code"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._source = ""
        self._info: FunctionInfo | None = None

    def compose(self):
        yield Static("Select a function on the left.", id="code-body")

    def show(self, source: str, info: FunctionInfo | None) -> None:
        self._source, self._info = source, info
        self.refresh_code()

    def refresh_code(self) -> None:
        body = self.query_one("#code-body", Static)
        if self._info is None:
            body.update("Select a function on the left.")
            return
        lines = self._source.splitlines()
        snippet = "\n".join(lines[self._info.start_line - 1 : self._info.end_line])
        self.border_title = f"Code — {self._info.qualname}"
        body.update(code_syntax(snippet, self.app.current_theme.dark, start_line=self._info.start_line))
        self.scroll_home(animate=False)
