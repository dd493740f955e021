"""`?`: every key binding of the app, grouped by where it works."""

from __future__ import annotations

from rich.table import Table
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {"question_mark": "?", "escape": "esc", "space": "space"}


def binding_rows(bindings) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding):
            key, desc = b.key, b.description
        else:
            key, _action, desc = b
        keys = ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in key.split(","))
        rows.append((keys, desc))
    return rows


def help_table(sections: list[tuple[str, list]]) -> Table:
    table = Table(box=None, expand=True, show_header=False, padding=(0, 1))
    table.add_column("key", style="bold", no_wrap=True, width=16)
    table.add_column("what it does")
    for title, bindings in sections:
        table.add_row(f"[u]{title}[/u]", "")
        for keys, desc in binding_rows(bindings):
            table.add_row(keys, desc)
    return table


class HelpScreen(ModalScreen[None]):
    """A scrollable list of every binding; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, sections: list[tuple[str, list]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self):
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys — escape closes"
            yield Static(help_table(self.sections), id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()  # so up/down/pgup/pgdn scroll it

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
