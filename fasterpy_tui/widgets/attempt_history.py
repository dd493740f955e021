"""Every attempt the verify loop made, with why earlier candidates were rejected."""

from __future__ import annotations

from textual.widgets import DataTable

from fasterpy_tui.widgets.evidence_panel import fmt_speedup

COLUMNS = ("target", "#", "status", "speedup", "feedback")


class AttemptHistory(DataTable):
    BORDER_TITLE = "Attempts"

    def __init__(self, **kwargs) -> None:
        super().__init__(zebra_stripes=True, cursor_type="row", **kwargs)
        self.by_key: dict[str, object] = {}

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def set_attempts(self, attempts) -> None:
        self.clear()
        self.by_key = {str(i): a for i, a in enumerate(attempts)}
        for i, a in enumerate(attempts):
            feedback = " ".join((a.feedback or "").split())
            self.add_row(a.target, str(a.number), a.status, fmt_speedup(a.speedup, None, None), feedback or "-", key=str(i))


def describe_attempt(a) -> str:
    return f"{a.target} attempt {a.number}: {a.status}\n{(a.feedback or '').strip()}"
