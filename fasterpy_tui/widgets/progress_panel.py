"""Live view of the pipeline: one line per node with its latest step, and the event log."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from graph.events import ProgressEvent

KNOWN_NODES = ("preprocess", "retrieve", "generate", "verify", "decide", "done")


def describe(event: ProgressEvent) -> str:
    """`generate attempt 2/3`, `verify candidate 1/2`, … — where the loop is."""
    count = ""
    if event.step is not None and event.total is not None:
        unit = {"generate": "attempt", "decide": "attempt", "verify": "candidate", "preprocess": "group"}.get(event.node, "step")
        count = f"{unit} {event.step}/{event.total} "
    elif event.step is not None:
        count = f"{event.step} "
    target = f"[{event.target}] " if event.target else ""
    tests = ""
    passed, total = event.data.get("tests_passed"), event.data.get("tests_total")
    if passed is not None and total:
        tests = f" (tests {passed}/{total})"
    return f"{target}{count}{event.message}{tests}".strip()


class ProgressPanel(Vertical):
    """Stage table on top, scrolling log below. `reset()` before each run."""

    BORDER_TITLE = "Progress"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.latest: dict[str, str] = {}
        self.active: str | None = None
        self.events: list[ProgressEvent] = []
        self.state = "idle"

    def compose(self):
        yield Static(id="stages")
        yield RichLog(id="event-log", wrap=True, markup=False, highlight=False, max_lines=2000, min_width=20)

    def on_mount(self) -> None:
        self._render_stages()

    def reset(self) -> None:
        self.latest.clear()
        self.events.clear()
        self.active = None
        self.state = "running"
        self.query_one("#event-log", RichLog).clear()
        self._render_stages()

    def add_event(self, event: ProgressEvent) -> None:
        self.events.append(event)
        line = describe(event)
        self.latest[event.node] = line
        self.active = event.node
        self.query_one("#event-log", RichLog).write(Text(f"{event.node:<10} {line}"))
        self._render_stages()

    def finish(self, state: str, message: str = "") -> None:
        """state: done | cancelled | failed."""
        self.state = state
        self.active = None
        if message:
            self.query_one("#event-log", RichLog).write(Text(f"{state:<10} {message}"))
        self._render_stages()

    def _render_stages(self) -> None:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=1, min_width=1, no_wrap=True)
        table.add_column(width=10, min_width=10, no_wrap=True)
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        nodes = list(KNOWN_NODES) + [n for n in self.latest if n not in KNOWN_NODES]
        for node in nodes:
            if node == self.active and self.state == "running":
                mark, style = "▶", "bold"
            elif node in self.latest:
                mark, style = "✓", ""
            else:
                mark, style = "·", "dim"
            table.add_row(mark, Text(node, style=style), Text(self.latest.get(node, ""), style=style))
        self.border_subtitle = self.state
        self.query_one("#stages", Static).update(table)
