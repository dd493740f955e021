"""Line numbers in the hunk view follow unified-diff semantics: a context line carries its number in
the old and in the new text, a removed line its old number, an added line its new one. The bug this
pins: after an added line 29, the context line that followed it showed 29 as well."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console
from textual.app import App

from fasterpy_tui.hunks import DiffLine, compute_hunks, hunk_lines
from fasterpy_tui.widgets.diff_view import DiffView

OLD = "".join(f"line {i}\n" for i in range(1, 41))  # 40 lines
NEW = OLD.replace("line 28\n", "line 28\nadded\n")  # the new line is line 29 of NEW


def test_context_after_an_added_line_is_numbered_in_both_texts() -> None:
    hunks = compute_hunks(OLD, NEW)
    assert len(hunks) == 1
    lines = hunk_lines(hunks, 0, len(OLD.splitlines()), context=3)
    assert lines == [
        DiffLine(" ", 26, 26), DiffLine(" ", 27, 27), DiffLine(" ", 28, 28),
        DiffLine("+", None, 29),
        DiffLine(" ", 29, 30), DiffLine(" ", 30, 31), DiffLine(" ", 31, 32),  # old 29 is new 30, not 29 again
    ]


def _assert_context_is_the_same_text(old: str, new: str) -> None:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    hunks = compute_hunks(old, new)
    for position, hunk in enumerate(hunks):
        shown = hunk_lines(hunks, position, len(old_lines))
        for line in shown:
            if line.sign == " ":
                assert line.old is not None and line.new is not None
                assert old_lines[line.old - 1] == new_lines[line.new - 1], (hunk, line)
            elif line.sign == "-":
                assert line.new is None and hunk.a_start < line.old <= hunk.a_end
            else:
                assert line.old is None and hunk.b_start < line.new <= hunk.b_end
        news = [line.new for line in shown if line.new is not None]
        assert news == sorted(set(news)), shown  # no new-text number twice, in order


def test_every_context_line_is_the_same_line_in_both_texts() -> None:
    _assert_context_is_the_same_text(OLD, NEW)
    # hunks two lines apart: each hunk's context stops at its neighbour instead of showing its lines
    near = OLD.replace("line 10\n", "ten\n").replace("line 13\n", "thirteen\nand more\n").replace("line 2\n", "")
    assert len(compute_hunks(OLD, near)) == 3
    _assert_context_is_the_same_text(OLD, near)


class Host(App):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):
        yield self.widget


def test_the_diff_view_shows_the_old_and_new_numbers() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        view = DiffView()
        async with Host(view).run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            hunks = compute_hunks(OLD, NEW)
            view.show(OLD, NEW, hunks)
            out = []
            for layout in ("unified", "side-by-side"):
                view.layout_mode = layout
                console = Console(file=io.StringIO(), width=150, color_system=None)
                console.print(view._render_hunk(hunks[0]))
                out.append([line.rstrip() for line in console.file.getvalue().splitlines()])
            return out[0], out[1]

    unified, side = asyncio.run(scenario())
    assert "28 28   line 28" in unified
    assert "   29 + added" in unified
    assert "29 30   line 29" in unified  # the context line after the added one: old 29, new 30
    row = next(line for line in side if "line 29" in line)
    assert row.split() == ["29", "line", "29", "30", "line", "29"]  # left: the old number, right: the new one
