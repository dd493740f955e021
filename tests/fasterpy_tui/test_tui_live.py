"""The TUI shows the search as it goes: real sessions under Textual's pilot, the real pipeline and
sandbox, and the real `replay` backend, held before a chosen generation by a gate the test opens.
While the run is held, the verified candidate is on screen, can be accepted (written with a backup)
and survives a stop. No timing is asserted: the loops below wait a bounded number of UI turns."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from pathlib import Path

from textual.widgets import TabbedContent

from fasterpy_tui.app import FasterPyApp
from fasterpy_tui.live import rank_key
from fasterpy_tui.widgets.diff_view import DiffView
from fasterpy_tui.widgets.evidence_panel import EvidencePanel
from fasterpy_tui.widgets.progress_panel import ProgressPanel
from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.replay_backend import ReplayBackend
from graph.source import splice_functions

TARGET = "pairwise_close"
FAST = '''def pairwise_close(values, tolerance):
    """Distinct values that have a different value within `tolerance`, in first-seen order."""
    cents = [round(v * 100) for v in values]
    present = set(cents)
    steps = round(tolerance * 100)
    close, seen = [], set()
    for v, c in zip(values, cents):
        if v not in seen and any(c + d in present for d in range(-steps, steps + 1) if d != 0):
            seen.add(v)
            close.append(v)
    return close
'''
WRONG = FAST.replace("    return close\n", "    return close[1:]\n")
FASTER = '''def pairwise_close(values, tolerance):
    """Distinct values that have a different value within `tolerance`, in first-seen order."""
    cents = [round(v * 100) for v in values]
    present = set(cents)
    steps = round(tolerance * 100)
    offsets = [d for d in range(-steps, steps + 1) if d]
    close = {}
    for v, c in zip(values, cents):
        if v not in close and any(c + d in present for d in offsets):
            close[v] = None
    return list(close)
'''
WRONG2 = FASTER.replace("return list(close)", "return list(close)[::-1]")
# call 1 (attempt 1, two fresh): FAST, WRONG · call 2 (attempt 2, fresh): FASTER · call 3 (its refinement
# of the best so far): WRONG2 · calls 4 and 5 (attempt 3): nothing left
CANDIDATES = [FAST, WRONG, FASTER, WRONG2]
BOUND = 2500  # UI turns to wait for something the run will do (bounded; never a timing assertion)


class GatedReplay(ReplayBackend):
    """The replay backend, whose generation number n waits until `gates[n]` opens. A cancelled
    run ends the wait at once with no replies, as a generation in flight does."""

    def __init__(self, config: GenerationConfig, holds: tuple[int, ...]) -> None:
        super().__init__(config)
        self.calls = 0
        self.gates = {n: threading.Event() for n in holds}
        self.waiting = {n: threading.Event() for n in holds}

    def release(self) -> None:
        """Open every gate (a failed test must not leave the run's thread waiting)."""
        for gate in self.gates.values():
            gate.set()

    def generate(self, request: GenerationRequest) -> list[str]:
        self.calls += 1
        n = self.calls
        if n in self.gates:
            self.waiting[n].set()
            while not self.gates[n].wait(0.05):
                if request.cancel is not None and request.cancel.is_set():
                    return []
        return super().generate(request)


@contextlib.asynccontextmanager
async def released(backend: GatedReplay):
    try:
        yield
    finally:
        backend.release()


def sync(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def make_app(path: Path, holds: tuple[int, ...]) -> tuple[FasterPyApp, GatedReplay]:
    from graph.config import FasterPyConfig
    from kb.preprocess import extract_context

    rows = path.parent / "replay.jsonl"
    context = extract_context(path.read_text(), [TARGET])
    rows.write_text(json.dumps({"problem_id": "p1", "input": context, "generated_answers": CANDIDATES}) + "\n")
    config = FasterPyConfig.load(path.parent)
    config.generation.backend = "replay"
    config.generation.model = str(rows)
    config.use_retrieval = False
    config.attempts, config.candidates = 3, 2
    config.early_stop = 1000.0  # a clear speedup does not end the search: it goes on for a faster one
    config.repeats, config.generated_inputs = 5, 5
    config.state_db = str(path.parent / "runs.sqlite")
    backend = GatedReplay(config.generation, holds)
    return FasterPyApp(path, config=config, backend=backend), backend


async def start(pilot) -> None:
    functions = pilot.app.screen.query_one("#functions")
    functions.highlighted = list(functions.functions).index(TARGET)
    await pilot.press("space")
    await pilot.press("ctrl+r")
    await pilot.pause()


async def until(pilot, done) -> None:
    for _ in range(BOUND):
        if done():
            return
        await pilot.pause(0.02)
    raise AssertionError("the run never got there")


async def settle(pilot) -> None:
    """Wait for every worker (run, accept) and then for the messages they posted."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def status_text(app) -> str:
    return str(app.screen.query_one("#status").render())


def evidence_text(panel: EvidencePanel) -> str:
    return "\n".join("".join(seg.text for seg in strip) for strip in panel.render_lines(panel.region.reset_offset))


@sync
async def test_each_verified_candidate_shows_before_the_run_ends(example):
    original = example.read_text()
    app, backend = make_app(example, holds=(2, 4))
    async with app.run_test(size=(80, 24)) as pilot, released(backend):
        await start(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.session.current is not None and backend.waiting[2].is_set())
        # held before attempt 2: the run goes on, and attempt 1's verified candidate is on screen
        assert screen.running and screen.query_one(ProgressPanel).state == "running"
        review = screen.session.current
        assert review.candidate.verdict.status == "accepted"
        assert review.candidate.source == splice_functions(original, FAST, [TARGET])
        assert screen.query_one(TabbedContent).active == "diff"
        diff = screen.query_one(DiffView)
        assert diff.hunks and diff.new_text == splice_functions(original, FAST, [TARGET])
        await pilot.press("5")  # the evidence tab: the verdict of the candidate shown
        await pilot.pause()
        evidence = evidence_text(screen.query_one(EvidencePanel))
        assert "accepted" in evidence and "×" in evidence, evidence
        await pilot.press("4")
        assert "best so far" in status_text(app)
        assert example.read_text() == original  # shown, not written

        backend.gates[2].set()  # attempt 2 verifies FASTER; the run is held again before attempt 3
        await until(pilot, lambda: len(screen.live) == 2 and backend.waiting[4].is_set())
        assert screen.running
        best = max(screen.live.found, key=lambda e: rank_key(e.attempt))
        review = screen.session.current
        assert review.rank == 1 and review.of == 2  # the best of the two, whichever it is
        assert review.candidate.source == best.attempt.code
        statuses = [a.status for a in screen.live_attempts]
        assert statuses[:2] == ["accepted", "wrong_output"], statuses  # the attempts log grows as they are judged

        backend.gates[4].set()
        await settle(pilot)
        assert not screen.running and screen.query_one(ProgressPanel).state == "done"
        assert screen.last_result.status == "optimized"
        assert screen.session.current.candidate.source == best.attempt.code  # the run's pick, as shown live
        assert example.read_text() == original


@sync
async def test_accept_the_best_so_far_during_the_search_then_stop(example):
    original = example.read_text()
    app, backend = make_app(example, holds=(2,))
    async with app.run_test(size=(80, 24)) as pilot, released(backend):
        await start(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.session.current is not None and backend.waiting[2].is_set())
        diff = screen.query_one(DiffView)
        diff.select_only(set(range(len(diff.hunks) - 1)))  # one hunk fewer: a partial patch
        await pilot.press("a")
        await pilot.pause()
        assert "partial accept" in status_text(app) and example.read_text() == original  # never unverified code

        diff.select_only(set(range(len(diff.hunks))))
        await pilot.press("a")  # the verified candidate as a whole: written while the search goes on
        await until(pilot, lambda: not screen.accepting)
        assert screen.running
        expected = splice_functions(original, FAST, [TARGET])
        assert example.read_text() == expected, status_text(app)
        assert (example.parent / "slow_stats.py.bak").read_text() == original
        assert "wrote" in status_text(app)
        assert screen.session.current.decision == "accepted"

        await pilot.press("escape")  # stop: the gated generation returns at once, the run is cancelled
        await settle(pilot)
        assert not screen.running and screen.query_one(ProgressPanel).state == "cancelled"
        assert example.read_text() == expected  # the accept stays written
        assert [r.decision for r in screen.session.reviews] == ["accepted"]
        assert "kept" in status_text(app) and "stay" in status_text(app), status_text(app)


@sync
async def test_stop_keeps_the_verified_candidates_to_accept(example):
    original = example.read_text()
    app, backend = make_app(example, holds=(2,))
    async with app.run_test(size=(80, 24)) as pilot, released(backend):
        await start(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.session.current is not None and backend.waiting[2].is_set())
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.running and screen.query_one(ProgressPanel).state == "cancelled"
        assert "1 verified candidate(s) kept" in status_text(app), status_text(app)
        assert example.read_text() == original
        review = screen.session.current
        assert review is not None and review.candidate.verdict.status == "accepted"
        await pilot.press("a")
        await settle(pilot)
        assert example.read_text() == splice_functions(original, FAST, [TARGET]), status_text(app)
        assert (example.parent / "slow_stats.py.bak").read_text() == original
