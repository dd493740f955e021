"""The diff view, the suggestions table and the evidence panel as widgets: layout by width, hunk
picking, sorting, the checks and line coverage a verdict rests on."""

from __future__ import annotations

import asyncio

from textual.app import App

from fasterpy_tui.hunks import compute_hunks
from fasterpy_tui.review import Candidate
from fasterpy_tui.widgets.diff_view import DiffView
from fasterpy_tui.widgets.evidence_panel import EvidencePanel
from fasterpy_tui.widgets.suggestions_table import SuggestionsTable
from graph.result import Attempt
from kb.records import Suggestion

OLD = "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x * 2)\n    return out\n\n\nprint(f([1, 2]))\n"
NEW = "import sys\n\ndef f(xs):\n    return [x * 2 for x in xs]\n\n\nprint(f([1, 2]))\n"


class Host(App):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):
        yield self.widget


def test_diff_view_layout_follows_width_and_hunks_toggle():
    async def scenario(width: int):
        view = DiffView()
        app = Host(view)
        async with app.run_test(size=(width, 30)) as pilot:
            await pilot.pause()
            hunks = compute_hunks(OLD, NEW)
            view.show(OLD, NEW, hunks)
            view.focus()
            await pilot.pause()
            side = view.side_by_side
            assert view.selected == set(range(len(hunks)))
            await pilot.press("space")  # drop the current (first) hunk
            await pilot.press("down")
            await pilot.pause()
            state = (side, set(view.selected), view.current, len(hunks))
            await pilot.press("v")  # auto → unified
            await pilot.pause()
            return state, view.side_by_side

    (side80, selected, current, n), _ = asyncio.run(scenario(80))
    assert not side80 and n == 2 and selected == {1} and current == 1
    (side160, _, _, _), after_v = asyncio.run(scenario(160))
    assert side160 and not after_v


def test_suggestions_sort_by_rate_and_applicability():
    async def scenario():
        table = SuggestionsTable()
        app = Host(table)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            table.set_suggestions({
                "f": [Suggestion(1, 0.9, 1.2, "1. closest", kept_because="closest"),
                      Suggestion(2, 0.8, 7.5, "1. fastest", kept_because="top rate within Δs")],
                "g": [Suggestion(3, 0.7, 3.0, "1. middle", kept_because="closest")],
            })
            table.sort_by("rate")  # highest first
            by_rate = [table.get_row_at(i)[2] for i in range(table.row_count)]
            table.sort_by("applic.", reverse=False)
            by_sim = [table.get_row_at(i)[1] for i in range(table.row_count)]
            return by_rate, by_sim, table.get_row_at(0)[3]

    by_rate, by_sim, kept = asyncio.run(scenario())
    assert by_rate == ["7.50×", "3.00×", "1.20×"]
    assert by_sim == ["0.700", "0.800", "0.900"] and kept == "closest"


def test_evidence_panel_shows_checks_line_coverage_and_thin_evidence():
    async def scenario(attempt: Attempt) -> str:
        panel = EvidencePanel()
        app = Host(panel)
        async with app.run_test(size=(100, 20)) as pilot:
            panel.show(Candidate("f", "src", attempt, mode="function", label="candidate 1.1"))
            await pilot.pause()
            return "\n".join("".join(seg.text for seg in strip) for strip in panel.render_lines(panel.region.reset_offset))

    common = dict(speedup=2.0, ci_low=1.5, ci_high=2.5, tests_passed=42, tests_total=42)
    thin = asyncio.run(scenario(Attempt("f", 1, 1, "accepted", coverage=0.45, thin_evidence=True,
                                        uncovered={"f": [7, 9]}, **common)))
    assert "42 checks, 45 % of lines" in thin and "thin evidence" in thin and "f: 7, 9" in thin
    full = asyncio.run(scenario(Attempt("f", 1, 1, "accepted", coverage=0.91, **common)))
    assert "42 checks, 91 % of lines" in full and "thin evidence" not in full
