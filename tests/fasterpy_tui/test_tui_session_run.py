"""Real sessions under Textual's pilot at 80×24: the real pipeline with the offline rules backend on
the example file (copied to tmp_path), real sandbox processes, real writes to disk."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path

import psutil

from fasterpy_tui.app import FasterPyApp
from fasterpy_tui.hunks import apply_hunks
from fasterpy_tui.widgets.diff_view import DiffView
from fasterpy_tui.widgets.progress_panel import ProgressPanel
from fasterpy_tui.widgets.suggestions_table import SuggestionsTable

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "data" / "examples" / "slow_stats.py"
TARGETS = ["pairwise_close", "running_means"]


def sync(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def make_app(path: Path) -> FasterPyApp:
    from graph.config import FasterPyConfig

    config = FasterPyConfig.load(path.parent)
    config.generation.backend = "rules"
    config.mode = "each"  # one reviewable candidate per target: n/p move between them
    config.attempts = 1  # the rules engine answers in one attempt; keeps the test quick
    config.candidates = 1
    config.repeats = 5
    config.state_db = str(path.parent / "runs.sqlite")
    return FasterPyApp(path, config=config)


async def select_targets(pilot, names=TARGETS) -> None:
    functions = pilot.app.screen.query_one("#functions")
    # space goes to the focused widget: once a run has verified a candidate the diff view has focus
    # (and space toggles a hunk there), so give the list focus first, as a user would
    functions.focus()
    await pilot.pause()
    assert pilot.app.focused is functions, pilot.app.focused
    order = list(functions.functions)
    for name in names:
        functions.highlighted = order.index(name)
        await pilot.press("space")
    await pilot.pause()
    assert set(names) <= set(functions.selected), (names, functions.selected)


async def settle(pilot) -> None:
    """Wait for every worker (run, accept) and then for the messages they posted."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def run_to_end(pilot) -> None:
    await pilot.press("ctrl+r")
    await pilot.pause()
    await settle(pilot)


def status_text(app) -> str:
    return str(app.screen.query_one("#status").render())


@sync
async def test_run_review_accept_hunk_undo_accept_all(example):
    original = example.read_text()
    app = make_app(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await select_targets(pilot)
        await run_to_end(pilot)
        screen = app.screen
        nodes = {e.node for e in screen.query_one(ProgressPanel).events}
        assert {"preprocess", "retrieve", "generate", "verify"} <= nodes, nodes
        assert screen.query_one(ProgressPanel).state == "done"
        assert example.read_text() == original  # nothing written without an accept
        assert screen.query_one(SuggestionsTable).row_count > 0

        reviews = screen.session.reviews
        assert list(dict.fromkeys(r.target for r in reviews)) == TARGETS
        verified = [i for i, r in enumerate(reviews) if r.candidate and r.rank == 1]  # each target's best
        assert verified, [r.reason for r in reviews]
        diff = screen.query_one(DiffView)
        assert diff.hunks
        first = screen.session.index
        await pilot.press("n")  # next target (running_means): its own review, then back
        await pilot.pause()
        assert screen.session.index == (first + 1) % len(reviews)
        await pilot.press("p")
        await pilot.pause()
        assert screen.session.index == first and diff.hunks

        hunks = list(diff.hunks)
        if len(hunks) > 1:
            # the last hunk alone uses what an earlier hunk defines: the re-verification refuses it
            diff.select_only({len(hunks) - 1})
            await pilot.press("a")
            await settle(pilot)
            msg = status_text(app)
            assert "failed verification" in msg or "press a again" in msg, msg
            assert example.read_text() == original

        # accept one hunk, by keyboard: space toggles the current hunk, down moves, h toggles too
        assert diff.has_focus
        diff.select_only(set(range(len(hunks))))
        diff.current = 0
        for _ in range(len(hunks) - 1):
            await pilot.press("down")
            await pilot.press("h" if _ % 2 else "space")
        await pilot.pause()
        assert diff.selected == {0}, diff.selected
        await pilot.press("a")  # re-verified before anything is written
        await settle(pilot)
        msg = status_text(app)
        if "press a again" in msg:
            # same outputs but not faster (a lone hunk of a rewrite rarely is): nothing written yet
            assert example.read_text() == original
            await pilot.press("a")
            await settle(pilot)
            msg = status_text(app)
        assert "hunks 1 of" in msg, msg
        after_one = example.read_text()
        assert after_one != original
        assert apply_hunks(original, hunks, {0}) == after_one
        await pilot.press("u")
        await settle(pilot)
        assert example.read_text() == original, status_text(app)

        # accept everything of every verified target
        for index in verified:
            screen.session.index = index
            screen.show_review()
            await pilot.pause()
            await pilot.press("a")
            await settle(pilot)
        final = example.read_text()
        assert final != original
        assert "wrote" in status_text(app)
        expected = original
        from graph.source import splice_functions

        for index in verified:
            r = reviews[index]
            expected = splice_functions(expected, r.candidate.source, r.targets)
        assert final == expected
        assert (example.parent / "slow_stats.py.bak").is_file()

        # undo is journaled: a new app on the same file can undo the last accept
    app2 = make_app(example)
    async with app2.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in verified:
            await pilot.press("u")
            await pilot.pause()
        assert example.read_text() == original, status_text(app2)


async def run_until(pilot, reached, polls: int = 3000) -> ProgressPanel:
    """Select every target, start a run and poll (bounded, not timed) until `reached(panel)` or the
    run ends."""
    await select_targets(pilot)
    await pilot.press("ctrl+r")
    panel = pilot.app.screen.query_one(ProgressPanel)
    for _ in range(polls):
        await pilot.pause(0.01)
        if reached(panel) or panel.state != "running":
            break
    return panel


@sync
async def test_cancel_mid_run_leaves_no_processes(example):
    app = make_app(example)
    me = psutil.Process(os.getpid())
    before = {p.pid for p in me.children(recursive=True)}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = await run_until(pilot, lambda p: any(e.node in ("verify", "generate") for e in p.events))
        await pilot.press("escape")
        await settle(pilot)
        assert panel.state in ("cancelled", "done")
        assert app.screen.handle is None
        left = [p for p in me.children(recursive=True) if p.pid not in before and p.is_running()
                and p.status() != psutil.STATUS_ZOMBIE]
        assert left == [], [(p.pid, p.cmdline()) for p in left]

        # the session goes on: a new run (on one target) gets a fresh sandbox pool and finishes
        functions = app.screen.query_one("#functions")
        functions.deselect_all()
        await select_targets(pilot, ["pairwise_close"])
        await run_to_end(pilot)
        assert panel.state == "done", [e.message for e in panel.events][-3:]
        assert any(r.candidate for r in app.screen.session.reviews)
    left = [p for p in me.children(recursive=True) if p.pid not in before and p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE]
    assert left == [], [(p.pid, p.cmdline()) for p in left]
    assert example.read_bytes() == EXAMPLE.read_bytes()


@sync
async def test_cancel_after_a_verified_candidate_then_run_again(example):
    """Esc once a candidate is verified: the diff view has taken focus to show it, and a new run
    chosen from the function list still starts and finishes (the once-flaky second run above)."""
    app = make_app(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = await run_until(pilot, lambda p: bool(app.screen.live))  # the first verified candidate
        await pilot.press("escape")
        await settle(pilot)
        assert panel.state in ("cancelled", "done")
        assert any(r.candidate for r in app.screen.session.reviews)  # kept, to accept
        assert isinstance(app.focused, DiffView), app.focused

        app.screen.query_one("#functions").deselect_all()
        await select_targets(pilot, ["pairwise_close"])
        await run_to_end(pilot)
        assert panel.state == "done", [e.message for e in panel.events][-3:]
        assert {r.target for r in app.screen.session.reviews} == {"pairwise_close"}
    assert example.read_bytes() == EXAMPLE.read_bytes()


@sync
async def test_file_changed_on_disk_is_not_overwritten(example):
    app = make_app(example)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await select_targets(pilot, ["pairwise_close"])
        await run_to_end(pilot)
        assert any(r.candidate for r in app.screen.session.reviews)
        edited = example.read_text() + "\n# edited in another editor\n"
        example.write_text(edited)
        await pilot.press("a")
        await settle(pilot)
        assert "changed on disk" in status_text(app)
        assert example.read_text() == edited
        assert not (example.parent / "slow_stats.py.bak").exists()
        await pilot.press("r")  # reject: recorded, file untouched
        await pilot.pause()
        assert app.screen.session.current.decision == "rejected"
        assert "rejected" in status_text(app) and example.read_text() == edited
