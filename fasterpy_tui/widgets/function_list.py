"""The file's functions and methods with their line spans; space selects targets for a run. After a
profile each row shows its share of the driver's time, and the list can be sorted by it."""

from __future__ import annotations

from textual.widgets import SelectionList
from textual.widgets.selection_list import Selection

from graph.source import FunctionInfo

UNSEEN = "—"  # the profile never saw the function run


def function_label(info: FunctionInfo, shares: dict[str, float] | None = None) -> str:
    prefix = "async " if info.is_async else ""
    label = f"{prefix}{info.qualname} L{info.start_line}-{info.end_line}"
    if shares is None:
        return label
    share = shares.get(info.qualname)
    column = f"{share * 100:5.1f} %" if share is not None else UNSEEN
    return f"{column:>7} {label}"


def by_time(functions: list[FunctionInfo], shares: dict[str, float]) -> list[FunctionInfo]:
    """Hottest first; functions the profile did not see last, each group in file order."""
    return sorted(functions, key=lambda f: (f.qualname not in shares, -shares.get(f.qualname, 0.0)))


class FunctionList(SelectionList[str]):
    """SelectionList keyed by qualified name; highlighting a row shows its code."""

    BORDER_TITLE = "Functions"

    def __init__(self, functions: list[FunctionInfo] | None = None, **kwargs) -> None:
        super().__init__(compact=True, **kwargs)
        self.functions: dict[str, FunctionInfo] = {}
        self.sorted_by_time = False
        if functions:
            self.set_functions(functions)

    def set_functions(
        self,
        functions: list[FunctionInfo],
        selected: set[str] | None = None,
        shares: dict[str, float] | None = None,
        sort_by_time: bool = False,
    ) -> None:
        """Show `functions` (in file order) with `selected` checked; with `shares` (qualname → 0..1)
        each row shows its share, and `sort_by_time` orders the rows hottest first."""
        self.functions = {f.qualname: f for f in functions}
        self.sorted_by_time = sort_by_time and shares is not None
        rows = by_time(functions, shares) if shares is not None and self.sorted_by_time else functions
        self.border_title = f"{self.BORDER_TITLE} · by time" if self.sorted_by_time else self.BORDER_TITLE
        self.clear_options()
        chosen = selected or set()
        self.add_options([Selection(function_label(f, shares), f.qualname, f.qualname in chosen) for f in rows])

    def row_names(self) -> list[str]:
        """The qualified names in the order the rows show them."""
        return [self.get_option_at_index(i).value for i in range(self.option_count)]

    def highlight_name(self, qualname: str | None) -> None:
        names = self.row_names()
        if qualname in names:
            self.highlighted = names.index(qualname)

    def highlighted_function(self) -> FunctionInfo | None:
        if self.highlighted is None:
            return None
        value = self.get_option_at_index(self.highlighted).value
        return self.functions.get(value)

    def select_names(self, names: list[str]) -> None:
        for name in names:
            if name in self.functions:
                self.select(name)
