"""Retrieved suggestions per target: applicability, rate, why the paper's filter kept each, text."""

from __future__ import annotations

from textual.widgets import DataTable

from kb.records import Suggestion

COLUMNS = ("target", "applic.", "rate", "kept because", "suggestion")
SORT_KEYS = {
    "target": lambda v: v,
    "applic.": lambda v: float(v),
    "rate": lambda v: float(v.rstrip("×")),
    "kept because": lambda v: v,
    "suggestion": lambda v: v,
}


class SuggestionsTable(DataTable):
    """Sortable: `o` cycles the sort column, clicking a header sorts by it (again reverses)."""

    BORDER_TITLE = "Suggestions"
    BINDINGS = [("o", "cycle_sort", "Sort")]

    def __init__(self, **kwargs) -> None:
        super().__init__(zebra_stripes=True, cursor_type="row", **kwargs)
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.by_key: dict[str, tuple[str, Suggestion]] = {}

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def set_suggestions(self, by_target: dict[str, list[Suggestion]]) -> None:
        self.clear()
        self.by_key.clear()
        for target, suggestions in by_target.items():
            for i, s in enumerate(suggestions):
                summary = " ".join(s.summary.split())
                key = f"{target}:{i}"
                self.by_key[key] = (target, s)
                self.add_row(target, f"{s.similarity:.3f}", f"{s.rate:.2f}×", s.kept_because or "-", summary, key=key)
        if self.sort_column:
            self._apply_sort()

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else column in ("applic.", "rate")
        self.sort_column, self.sort_reverse = column, reverse
        self._apply_sort()

    def _apply_sort(self) -> None:
        column = self.sort_column
        if column is None or self.row_count == 0:
            return
        self.sort(column, key=SORT_KEYS[column], reverse=self.sort_reverse)
        arrow = "↓" if self.sort_reverse else "↑"
        self.border_subtitle = f"sorted by {column} {arrow}"

    def action_cycle_sort(self) -> None:
        order = list(COLUMNS)
        nxt = order[(order.index(self.sort_column) + 1) % len(order)] if self.sort_column else "rate"
        self.sort_by(nxt)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))


def describe_suggestion(target: str, s: Suggestion) -> str:
    """The full text of one suggestion, as the detail line under the table shows it."""
    origin = f" · {s.source} {s.problem_id}".rstrip() if (s.source or s.problem_id) else ""
    return (
        f"{target}: applicability {s.similarity:.3f}, rate {s.rate:.2f}×, kept because "
        f"{s.kept_because or '-'}{origin}\n{s.summary.strip()}"
    )
