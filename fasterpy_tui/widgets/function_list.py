"""The file's functions and methods with their line spans; space selects targets for a run."""

from __future__ import annotations

from textual.widgets import SelectionList
from textual.widgets.selection_list import Selection

from graph.source import FunctionInfo


def function_label(info: FunctionInfo) -> str:
    prefix = "async " if info.is_async else ""
    return f"{prefix}{info.qualname} L{info.start_line}-{info.end_line}"


class FunctionList(SelectionList[str]):
    """SelectionList keyed by qualified name; highlighting a row shows its code."""

    BORDER_TITLE = "Functions"

    def __init__(self, functions: list[FunctionInfo] | None = None, **kwargs) -> None:
        super().__init__(compact=True, **kwargs)
        self.functions: dict[str, FunctionInfo] = {}
        if functions:
            self.set_functions(functions)

    def set_functions(self, functions: list[FunctionInfo], selected: set[str] | None = None) -> None:
        self.functions = {f.qualname: f for f in functions}
        self.clear_options()
        chosen = selected or set()
        self.add_options([Selection(function_label(f), f.qualname, f.qualname in chosen) for f in functions])

    def highlighted_function(self) -> FunctionInfo | None:
        if self.highlighted is None:
            return None
        value = self.get_option_at_index(self.highlighted).value
        return self.functions.get(value)

    def select_names(self, names: list[str]) -> None:
        for name in names:
            if name in self.functions:
                self.select(name)
