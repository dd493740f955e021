"""The candidate's diff, hunk by hunk, with Python highlighting; hunks can be picked one by one.

Unified layout by default; side by side when the view is wide enough (or forced with `v`). Lines
carry their numbers as a unified diff gives them (fasterpy_tui.hunks.hunk_lines): old and new for a
context line, the old one for a removed line, the new one for an added line."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from fasterpy_tui.highlight import highlight_lines
from fasterpy_tui.hunks import DiffLine, Hunk, hunk_lines
from fasterpy_tui.messages import HunkToggled

CONTEXT = 3
SIDE_BY_SIDE_MIN_WIDTH = 120
BACKGROUNDS = {
    True: {"-": "on #4b1d24", "+": "on #1d4028"},
    False: {"-": "on #ffdce0", "+": "on #d4f7dc"},
}


class HunkBlock(Static):
    """One hunk; classes -current and -selected drive its border in the stylesheet."""


class DiffView(VerticalScroll, can_focus=True):
    BORDER_TITLE = "Diff"
    BINDINGS = [
        Binding("down,j", "move(1)", "Next hunk", show=False),
        Binding("up,k", "move(-1)", "Prev hunk", show=False),
        Binding("space", "toggle_hunk", "Toggle hunk", show=False),
        Binding("v", "cycle_layout", "Layout", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.old_text = ""
        self.new_text = ""
        self.hunks: list[Hunk] = []
        self.selected: set[int] = set()
        self.current = 0
        self.layout_mode = "auto"  # auto | unified | side-by-side
        self._old_lines: list[Text] = []
        self._new_lines: list[Text] = []
        self._empty_message = "No diff yet — select functions (space) and run (ctrl+r)."

    def on_mount(self) -> None:
        if not self.hunks:
            self.rebuild()

    # -- data ---------------------------------------------------------------------------------
    def show(self, old_text: str, new_text: str, hunks: list[Hunk], title: str = "Diff") -> None:
        self.old_text, self.new_text, self.hunks = old_text, new_text, hunks
        self.selected = {h.index for h in hunks}
        self.current = 0
        self.border_title = title
        self._highlight()
        self.rebuild()

    def clear_diff(self, message: str = "No diff yet.") -> None:
        self.hunks, self.selected, self.old_text, self.new_text = [], set(), "", ""
        self._empty_message = message
        self.border_title = "Diff"
        self.rebuild()

    def _highlight(self) -> None:
        dark = self.app.current_theme.dark
        self._old_lines = highlight_lines(self.old_text, dark)
        self._new_lines = highlight_lines(self.new_text, dark)

    def refresh_theme(self) -> None:
        self._highlight()
        self.rebuild()

    # -- rendering ------------------------------------------------------------------------------
    @property
    def side_by_side(self) -> bool:
        if self.layout_mode == "auto":
            return self.size.width >= SIDE_BY_SIDE_MIN_WIDTH
        return self.layout_mode == "side-by-side"

    def rebuild(self) -> None:
        self.remove_children()
        if not self.hunks:
            self.mount(Static(self._empty_message, classes="diff-empty"))
            self._update_subtitle()
            return
        self.mount_all(HunkBlock(self._render_hunk(h), classes=self._classes_for(h)) for h in self.hunks)
        self._update_subtitle()

    def _classes_for(self, hunk: Hunk) -> str:
        classes = ["hunk"]
        if hunk.index == self.current:
            classes.append("-current")
        if hunk.index in self.selected:
            classes.append("-selected")
        return " ".join(classes)

    def _update_subtitle(self) -> None:
        mode = "side by side" if self.side_by_side else "unified"
        if self.hunks:
            self.border_subtitle = f"{len(self.selected)}/{len(self.hunks)} hunks selected · {mode}"
        else:
            self.border_subtitle = mode

    def _body(self, line: DiffLine) -> Text:
        lines, number = (self._new_lines, line.new) if line.sign == "+" else (self._old_lines, line.old)
        body = lines[number - 1].copy() if number is not None and 0 < number <= len(lines) else Text("")
        body.rstrip()
        return body

    def _row(self, line: DiffLine, numbers: tuple[int | None, ...], width: int) -> Text:
        """`numbers` in the gutter (blank where a side has none), the sign, the highlighted line."""
        gutter = " ".join(f"{n if n is not None else '':>{width}}" for n in numbers)
        row = Text.assemble(Text(f"{gutter} {line.sign} ", style="dim"), self._body(line))
        if line.sign in "+-":
            row.stylize(BACKGROUNDS[self.app.current_theme.dark][line.sign])
        return row

    def _render_hunk(self, hunk: Hunk):
        mark = "[x]" if hunk.index in self.selected else "[ ]"
        pointer = "▶" if hunk.index == self.current else " "
        header = Text(f"{pointer} {mark} hunk {hunk.index + 1}/{len(self.hunks)}  {hunk.header}", style="bold")
        width = len(str(max(len(self._old_lines), len(self._new_lines), 1)))
        lines = hunk_lines(self.hunks, self.hunks.index(hunk), len(self._old_lines), CONTEXT)
        if not self.side_by_side:  # two gutters, old and new, as `git diff` numbers the lines
            return Group(header, *(self._row(line, (line.old, line.new), width) for line in lines))
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        removed = [line for line in lines if line.sign == "-"]
        added = [line for line in lines if line.sign == "+"]
        for line in lines:
            if line.sign == " ":
                table.add_row(self._row(line, (line.old,), width), self._row(line, (line.new,), width))
            elif line is (removed or added)[0]:  # the change: old lines left, new lines right, side by side
                for k in range(max(len(removed), len(added))):
                    table.add_row(self._row(removed[k], (removed[k].old,), width) if k < len(removed) else Text(""),
                                  self._row(added[k], (added[k].new,), width) if k < len(added) else Text(""))
        return Group(header, table)

    def _refresh_blocks(self) -> None:
        for block, hunk in zip(self.query(HunkBlock), self.hunks):
            block.set_classes(self._classes_for(hunk))
            block.update(self._render_hunk(hunk))
        self._update_subtitle()

    # -- actions --------------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        if not self.hunks:
            return
        self.current = (self.current + delta) % len(self.hunks)
        self._refresh_blocks()
        blocks = list(self.query(HunkBlock))
        if blocks:
            self.scroll_to_widget(blocks[self.current], animate=False, top=True)

    def action_toggle_hunk(self) -> None:
        if not self.hunks:
            return
        self.selected ^= {self.current}
        self._refresh_blocks()
        self.post_message(HunkToggled(frozenset(self.selected), len(self.hunks)))

    def select_only(self, indices: set[int]) -> None:
        self.selected = {i for i in indices if 0 <= i < len(self.hunks)}
        self._refresh_blocks()
        self.post_message(HunkToggled(frozenset(self.selected), len(self.hunks)))

    def action_cycle_layout(self) -> None:
        order = ["auto", "unified", "side-by-side"]
        self.layout_mode = order[(order.index(self.layout_mode) + 1) % len(order)]
        self.rebuild()
        self.app.notify(f"diff layout: {self.layout_mode}", timeout=2)

    def on_resize(self) -> None:
        if self.layout_mode == "auto" and self.hunks:
            self._refresh_blocks()
