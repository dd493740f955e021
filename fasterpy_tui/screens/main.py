"""The working screen: functions on the left; code, progress, suggestions, diff and evidence tabs.

It is given everything it works on (the session, the configuration's source, the preselected
targets) and knows nothing of the app: it asks for settings with an OpenSettings message, and the
run worker (fasterpy_tui.runner) and the profile worker (fasterpy_tui.profiling) report to it by
messages. While a search runs, each verified candidate arrives as CandidateVerified: the diff and
evidence tabs show the best so far (fasterpy_tui.live), `a` accepts it as after a run, and esc
stops the search keeping what was verified."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Label, SelectionList, Static, TabbedContent, TabPane

from fasterpy_tui.config_source import ConfigSource
from fasterpy_tui.live import LiveCandidates, carry_decisions, review_key
from fasterpy_tui.messages import (
    CandidateVerified,
    HunkToggled,
    OpenSettings,
    ProfileFailed,
    ProfileFinished,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunProgress,
)
from fasterpy_tui.profiling import start_profile
from fasterpy_tui.review import AttemptView, as_suggestion, reviews_from_result
from fasterpy_tui.runner import RunHandle, start_run
from fasterpy_tui.session import ConfirmationNeeded, Session
from fasterpy_tui.widgets.attempt_history import AttemptHistory
from fasterpy_tui.widgets.code_view import CodeView
from fasterpy_tui.widgets.diff_view import DiffView
from fasterpy_tui.widgets.evidence_panel import EvidencePanel
from fasterpy_tui.widgets.function_list import FunctionList
from fasterpy_tui.widgets.progress_panel import ProgressPanel
from fasterpy_tui.widgets.suggestions_table import SuggestionsTable
from harness.errors import FasterPyError

TABS = ("code", "progress", "suggestions", "diff", "evidence")


class MainScreen(Screen):
    BINDINGS = [
        Binding("ctrl+r", "run", "Run"),
        Binding("escape", "cancel", "Cancel run"),
        Binding("a", "accept", "Accept"),
        Binding("r", "reject", "Reject"),
        Binding("n", "next", "Next"),
        Binding("p", "previous", "Prev"),
        Binding("h", "toggle_hunk", "Toggle hunk", show=False),
        Binding("u", "undo", "Undo"),
        Binding("s", "settings", "Settings", show=False),
        Binding("ctrl+l", "reload", "Reload file", show=False),
        Binding("z", "zoom", "Hide/show function list", show=False),
        Binding("1", "tab('code')", "Code tab", show=False),
        Binding("2", "tab('progress')", "Progress tab", show=False),
        Binding("3", "tab('suggestions')", "Suggestions tab", show=False),
        Binding("4", "tab('diff')", "Diff tab", show=False),
        Binding("5", "tab('evidence')", "Evidence tab", show=False),
        Binding("t", "sort_by_time", "Profile: sort functions by time / file order", show=False),
    ]

    def __init__(self, session: Session, config: ConfigSource, preselect: list[str] | None = None,
                 backend: Any = None) -> None:
        super().__init__()
        self.session = session
        self.config = config
        self.preselect = preselect or []
        self.backend = backend  # a generation backend for every run (None: the one the settings name)
        self.live = LiveCandidates()  # this run's verified candidates, as they arrive
        self.live_attempts: list[AttemptView] = []  # this run's judged candidates, for the attempts table
        self.live_stale = False  # candidates arrived while an accept was in flight: shown after it
        self.deferred: list[Any] = []  # the run's end, reported while an accept was in flight
        self.written_in_run = 0  # accepts written while the search went on
        self.handle: RunHandle | None = None
        self.profiling: RunHandle | None = None  # a profile in flight (its start time and processes)
        self.last_result: Any = None  # the last run's OptimizeResult
        self.run_seconds: float | None = None
        self.live_suggestions: dict[str, list] = {}
        self.accepting = False  # an accept (maybe re-verifying hunks) is in flight

    # -- layout -------------------------------------------------------------------------------------
    def compose(self):
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield FunctionList(id="functions")
                yield Button("Run ▶ (ctrl+r)", id="run-button", variant="primary", compact=True)
            with TabbedContent(id="tabs", initial="code"):
                with TabPane("Code", id="code"):
                    yield CodeView(id="code-view")
                # hidden tabs mount just after the first paint (Lazy): the file's functions show sooner
                with TabPane("Progress", id="progress"):
                    yield Lazy(ProgressPanel(id="progress-panel"))
                with TabPane("Suggest", id="suggestions"):
                    yield Lazy(
                        Vertical(
                            Label("Alg. 2 filter: the closest record, then the top k−1 by rate within Δs of it.", id="filter-note"),
                            SuggestionsTable(id="suggestions-table"),
                            Static(id="suggestion-detail", classes="detail", markup=False),
                            classes="tab-box",
                        )
                    )
                with TabPane("Diff", id="diff"):
                    yield Lazy(DiffView(id="diff-view"))
                with TabPane("Evidence", id="evidence"):
                    yield Lazy(
                        Vertical(
                            EvidencePanel(id="evidence-panel"),
                            AttemptHistory(id="attempts"),
                            Static(id="attempt-detail", classes="detail", markup=False),
                            classes="tab-box",
                        )
                    )
        yield Static(id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "fasterpy-tui"
        self.sub_title = self.session.path.name
        functions = self.query_one(FunctionList)
        functions.set_functions(self.session.functions, set(self.preselect))
        functions.focus()
        undo = len(self.session.journal)
        journal = f" · u undoes the last of {undo} earlier accepts" if undo else ""
        self.set_status(
            f"{len(self.session.functions)} functions in {self.session.path.name} · space selects · ctrl+r runs · ? help{journal}"
        )
        if self.session.functions:
            self._show_code(self.session.functions[0])
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def _on_theme_changed(self, _theme) -> None:
        self.query_one(CodeView).refresh_code()
        self.query_one(DiffView).refresh_theme()

    def set_status(self, message: str, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.set_class(error, "-error")
        status.update(message)

    def report(self, message: str, error: bool = False) -> None:
        self.set_status(message, error)
        self.notify(message, severity="error" if error else "information", timeout=6 if error else 3, markup=False)

    # -- functions and code -------------------------------------------------------------------------
    def _show_code(self, info) -> None:
        self.query_one(CodeView).show(self.session.document.text, info)

    def on_selection_list_selection_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        info = self.session_function(event.selection.value)
        if info is not None:
            self._show_code(info)

    def session_function(self, qualname: str):
        return next((f for f in self.session.functions if f.qualname == qualname), None)

    def selected_targets(self) -> list[str]:
        return list(self.query_one(FunctionList).selected)

    # -- running ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.handle is not None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run-button":
            self.action_run()

    def action_run(self) -> None:
        if self.running:
            self.report("a run is already in progress — esc cancels it", error=True)
            return
        if self.profiling is not None:
            self.report("wait for the profile to finish (esc cancels it) before running", error=True)
            return
        targets = self.selected_targets()
        if not targets:
            self.report("no function selected — highlight one and press space, then ctrl+r", error=True)
            return
        if self.session.document.changed_on_disk():
            self.report(f"{self.session.path.name} changed on disk — reload it (ctrl+l) before running", error=True)
            return
        self.handle = RunHandle(targets=targets)
        self.live_suggestions = {}
        self.live = LiveCandidates()
        self.live_attempts = []
        self.written_in_run = 0
        self.last_result = None
        self.session.reviews, self.session.index = [], 0
        self.query_one(ProgressPanel).reset()
        self.query_one(AttemptHistory).set_attempts([])
        self.query_one(DiffView).clear_diff("Searching — each verified candidate shows here as soon as it is verified.")
        self.query_one(EvidencePanel).show(None)
        self.query_one("#run-button", Button).disabled = True
        self.action_tab("progress")
        self.set_status(f"running on {', '.join(targets)} … esc cancels")
        start_run(self, self.handle, self.session.path, self.config.get, self.backend)

    def on_run_progress(self, message: RunProgress) -> None:
        event = message.event
        self.query_one(ProgressPanel).add_event(event)
        if event.node == "retrieve" and event.data.get("suggestions") is not None:
            # show suggestions as soon as they are retrieved, before the verify loop ends
            self.live_suggestions[event.target or ""] = [as_suggestion(s) for s in event.data["suggestions"]]
            self.query_one(SuggestionsTable).set_suggestions(self.live_suggestions)
        if event.node == "verify" and event.data.get("status"):  # a judged candidate: the attempts log grows
            self.live_attempts.append(AttemptView(event.target or "", int(event.data.get("attempt") or 0),
                                                  str(event.data["status"]), event.data.get("speedup"),
                                                  str(event.data.get("feedback") or "")))
            self.query_one(AttemptHistory).set_attempts(self.live_attempts)

    # -- the best so far, while the search goes on --------------------------------------------------
    def on_candidate_verified(self, message: CandidateVerified) -> None:
        first = not self.live
        better = self.live.add(message.candidate)
        if self.accepting:  # the accept in flight works on the reviews as they are: rebuild after it
            self.live_stale = True
            return
        self._show_live(message.candidate.target if better else None, first)

    def _show_live(self, new_best: str | None = None, first: bool = False) -> None:
        """Rebuild the reviews from the live candidates. The view stays on the candidate it shows,
        unless `new_best` names its target (or nothing was shown): then it moves to the new best."""
        shown = self.session.current
        reviews = self.live.reviews(self.live_suggestions)
        carry_decisions(self.session.reviews, reviews)
        keys = [review_key(r) for r in reviews]
        if new_best is not None and (shown is None or shown.target == new_best):
            index = next(i for i, r in enumerate(reviews) if r.target == new_best)
        else:
            index = keys.index(review_key(shown)) if review_key(shown) in keys else 0
        changed = review_key(shown) != keys[index]
        self.session.reviews, self.session.index = reviews, index
        if changed:
            self.show_review()
        else:  # the same candidate: keep the user's hunk selection, refresh its rank in the title
            review = self.session.current
            assert review is not None
            self.query_one(DiffView).border_title = f"Diff — {review.title} ({review.decision})"
        if first and self.query_one(TabbedContent).active == "progress":  # where ctrl+r left the user
            self.action_tab("diff")
            self.query_one(DiffView).focus()
        if self.running:
            best = self.live.best(reviews[index].target)
            speed = f" {best.attempt.speedup:.2f}×" if best is not None and best.attempt.speedup else ""
            self.set_status(f"best so far: {reviews[index].target}{speed} ({len(self.live)} verified) · "
                            "a accepts it while the search goes on · esc stops the search")

    def _end_run(self) -> RunHandle | None:
        handle, self.handle = self.handle, None
        self.query_one("#run-button", Button).disabled = False
        return handle

    def _kept(self) -> str:
        """What a stopped or failed run leaves: the candidates verified before it ended, to accept."""
        if not self.live:
            return ""
        from graph.result import OptimizeResult

        # the run's mode and file, so a partial accept of a kept candidate can be re-verified
        self.last_result = OptimizeResult(status="cancelled", path=str(self.session.path), run_id="", mode=self.live.mode)
        self.show_review()
        return f"{len(self.live)} verified candidate(s) kept · a accepts the best so far"

    def on_run_cancelled(self, message: RunCancelled) -> None:
        if self.accepting:
            self.deferred.append(message)
            return
        handle = self._end_run()
        if handle is not None:
            handle.shutdown()  # the worker has returned: close the sandbox pool, stop leftovers
        kept = self._kept()
        written = f"{self.written_in_run} accept(s) written during the search stay" if self.written_in_run else ""
        note = " · ".join(p for p in (kept, written) if p) or "the file is unchanged"
        self.query_one(ProgressPanel).finish("cancelled", f"search stopped; {note}")
        self.report(f"search stopped — {note}" if kept or written else "run cancelled — nothing was written")

    def on_run_failed(self, message: RunFailed) -> None:
        if self.accepting:
            self.deferred.append(message)
            return
        self._end_run()
        text = str(message.error) if message.user_error else f"{type(message.error).__name__}: {message.error}"
        self.query_one(ProgressPanel).finish("failed", text)
        kept = self._kept()
        self.report(f"run failed: {text}" + (f" — {kept}" if kept else ""), error=True)

    def on_run_finished(self, message: RunFinished) -> None:
        if self.accepting:
            self.deferred.append(message)
            return
        self._end_run()
        self.last_result = message.result
        self.run_seconds = message.elapsed_s
        live_reviews = self.session.reviews
        self.session.reviews = reviews_from_result(message.result)
        carry_decisions(live_reviews, self.session.reviews)  # an accept made during the search stays accepted
        self.session.index = next((i for i, r in enumerate(self.session.reviews) if r.candidate), 0)
        groups = {r.target for r in self.session.reviews}
        verified = len({r.target for r in self.session.reviews if r.candidate})
        self.query_one(ProgressPanel).finish("done", f"{verified}/{len(groups)} targets with a verified candidate")
        by_target = {r.target: r.suggestions for r in self.session.reviews}
        self.query_one(SuggestionsTable).set_suggestions(by_target)
        first_of_each = {r.target: r for r in self.session.reviews}.values()
        self.query_one(AttemptHistory).set_attempts([a for r in first_of_each for a in r.attempts])
        self.show_review()
        if verified:
            self.action_tab("diff")
            self.query_one(DiffView).focus()

    def action_cancel(self) -> None:
        if self.profiling is not None:
            self.profiling.cancel.set()
            self.profiling.reap(grace_s=0.5)  # ends the driver: the worker then reports at once
            return
        if not self.running:
            return
        assert self.handle is not None
        self.handle.request_cancel()
        self.set_status("cancelling … stopping the sandbox")

    def on_data_table_row_highlighted(self, event) -> None:
        from fasterpy_tui.widgets.attempt_history import describe_attempt
        from fasterpy_tui.widgets.suggestions_table import describe_suggestion

        key = event.row_key.value if event.row_key is not None else None
        table = event.data_table
        if isinstance(table, SuggestionsTable) and key in table.by_key:
            self.query_one("#suggestion-detail", Static).update(describe_suggestion(*table.by_key[key]))
        elif isinstance(table, AttemptHistory) and key in table.by_key:
            self.query_one("#attempt-detail", Static).update(describe_attempt(table.by_key[key]))

    # -- measured time ------------------------------------------------------------------------------
    def action_sort_by_time(self) -> None:
        """`t`: sort the function list by measured time (profiling the file first when its current
        text has no profile yet); again: back to file order."""
        functions = self.query_one(FunctionList)
        if functions.sorted_by_time:
            self._show_profile(sort_by_time=False)
            self.set_status("functions in file order · t sorts them by measured time")
            return
        if self.session.timings is not None:
            self._show_profile(sort_by_time=True)
            self.set_status("functions sorted by measured time, hottest first · t: file order")
            return
        if self.profiling is not None:
            self.report("the profile is still running — esc cancels it", error=True)
            return
        if self.running:
            self.report("wait for the run to finish (or esc) before profiling", error=True)
            return
        if self.session.document.changed_on_disk():
            self.report(f"{self.session.path.name} changed on disk — reload it (ctrl+l) before profiling", error=True)
            return
        self.profiling = RunHandle(targets=[])
        self.set_status(f"profiling {self.session.path.name} … esc cancels")
        start_profile(self, self.profiling, self.session.path, self.session.document.digest, self.config.get)

    def _show_profile(self, sort_by_time: bool) -> None:
        functions = self.query_one(FunctionList)
        highlighted = functions.highlighted_function()
        functions.set_functions(self.session.functions, set(self.selected_targets()), self.session.shares(), sort_by_time)
        functions.highlight_name(highlighted.qualname if highlighted else None)

    def on_profile_finished(self, message: ProfileFinished) -> None:
        self.profiling = None
        if message.digest != self.session.document.digest:
            self.report("the file changed while it was profiled — press t to profile it again", error=True)
            return
        seen = self.session.set_profile(message.timings)
        self._show_profile(sort_by_time=True)
        under = message.driver or "its __main__ block"
        self.report(
            f"profiled {self.session.path.name} under {under} in {message.elapsed_s:.1f} s: "
            f"{seen}/{len(self.session.functions)} functions ran · sorted by measured time · t: file order"
        )

    def on_profile_failed(self, message: ProfileFailed) -> None:
        handle, self.profiling = self.profiling, None
        if handle is not None and handle.cancel.is_set():
            self.report("profile cancelled")
            return
        self.report(f"profile failed: {message.text}", error=True)

    def on_unmount(self) -> None:
        if self.profiling is not None:  # quitting mid-profile: leave no driver running
            self.profiling.reap(grace_s=0.5)

    # -- review -------------------------------------------------------------------------------------
    def show_review(self) -> None:
        review = self.session.current
        diff = self.query_one(DiffView)
        evidence = self.query_one(EvidencePanel)
        if review is None:
            diff.clear_diff("No run yet.")
            evidence.show(None)
            return
        position = f"{self.session.index + 1}/{len(self.session.reviews)}"
        evidence.show(review.candidate)
        if review.candidate is None:
            diff.clear_diff(f"{review.target}: {review.reason or 'no verified improvement'}")
            self.set_status(f"{position} {review.target}: no verified candidate — n/p moves")
            return
        try:
            hunks = self.session.hunks(review)
            proposed = self.session.proposed_text(review) or ""
        except FasterPyError as exc:
            diff.clear_diff(str(exc))
            self.set_status(str(exc), error=True)
            return
        if not hunks:
            diff.clear_diff(f"{review.target}: accepted — the file already has this code (u undoes)")
        else:
            diff.show(self.session.document.text, proposed, hunks, title=f"Diff — {review.title} ({review.decision})")
        self.set_status(
            f"{position} {review.title} ({review.decision}) · {len(hunks)} hunks · "
            "a accept · space/h toggle hunk · r reject · n/p move"
        )

    def action_next(self) -> None:
        if self.session.move(1) is not None:
            self.show_review()

    def action_previous(self) -> None:
        if self.session.move(-1) is not None:
            self.show_review()

    def action_toggle_hunk(self) -> None:
        self.query_one(DiffView).action_toggle_hunk()

    def on_hunk_toggled(self, message: HunkToggled) -> None:
        self.set_status(f"{len(message.selected)}/{message.total} hunks selected — a accepts the selected hunks")

    def action_accept(self) -> None:
        if self.accepting:
            self.report("still checking the previous accept — wait for it", error=True)
            return
        review = self.session.current
        if review is None or review.candidate is None:
            if self.running:
                self.report("no verified candidate yet — the search goes on (esc stops it)", error=True)
            else:
                self.report("no verified candidate to accept — select functions and run first (ctrl+r)", error=True)
            return
        diff = self.query_one(DiffView)
        selected = set(diff.selected) if diff.hunks else None
        if selected is not None and len(selected) == len(diff.hunks):
            selected = None
        if selected is not None and self.running:  # re-verifying would share the sandbox with the search
            self.report("a partial accept is re-verified — select all hunks to accept the verified candidate "
                        "now, or wait for the run to end (esc stops it)", error=True)
            return
        if selected is not None:
            self.set_status("re-verifying the selected hunks …")
        self.accepting = True
        self._accept(selected)

    @work(thread=True, exclusive=True, group="accept", exit_on_error=False)
    def _accept(self, selected: set[int] | None) -> None:
        from fasterpy_tui.reverify import verify_partial

        try:
            self._accept_in_thread(selected, verify_partial)
        finally:
            self.app.call_from_thread(self._accept_done)

    def _accept_done(self) -> None:
        """The accept has ended: show candidates that arrived meanwhile, then a run end that did."""
        self.accepting = False
        if self.live_stale:
            self.live_stale = False
            self._show_live()
        deferred, self.deferred = self.deferred, []
        handlers: dict[type, Any] = {RunFinished: self.on_run_finished, RunCancelled: self.on_run_cancelled, RunFailed: self.on_run_failed}
        for message in deferred:
            handlers[type(message)](message)

    def _accept_in_thread(self, selected: set[int] | None, verify_partial) -> None:
        try:
            message = self.session.accept(selected, verify_partial=verify_partial(self.last_result, self.config.get()))
        except ConfirmationNeeded as exc:
            self.app.call_from_thread(self.report, str(exc))
            return
        except FasterPyError as exc:
            self.app.call_from_thread(self.report, str(exc), True)
            return
        except Exception as exc:  # a failure of the verifier itself: say so, write nothing
            self.app.call_from_thread(self.report, f"could not verify the selected hunks ({exc}) — nothing was written", True)
            return
        self.app.call_from_thread(self._after_write, message, True)

    def _after_write(self, message: str, accepted: bool = False) -> None:
        if accepted and self.running:
            self.written_in_run += 1
        # the session dropped the profile of the old text (shares() is None): back to file order
        self.query_one(FunctionList).set_functions(self.session.functions, set(self.selected_targets()), self.session.shares())
        highlighted = self.query_one(FunctionList).highlighted_function()
        if highlighted:
            self._show_code(highlighted)
        self.show_review()
        self.report(message)

    def action_reject(self) -> None:
        try:
            message = self.session.reject()
        except FasterPyError as exc:
            self.report(str(exc), error=True)
            return
        self.report(message)
        if len(self.session.reviews) > 1:
            self.action_next()
        else:
            self.show_review()

    def action_undo(self) -> None:
        if self.running or self.accepting:
            self.report("wait for the run or the accept to finish before undoing", error=True)
            return
        try:
            message = self.session.undo()
        except FasterPyError as exc:
            self.report(str(exc), error=True)
            return
        self._after_write(message)

    def action_reload(self) -> None:
        try:
            self.session.reload()
        except FasterPyError as exc:
            self.report(str(exc), error=True)
            return
        self._after_write(f"reloaded {self.session.path.name} from disk")

    # -- other screens and layout -------------------------------------------------------------------
    def action_settings(self) -> None:
        self.post_message(OpenSettings())

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_zoom(self) -> None:
        left = self.query_one("#left")
        left.display = not left.display
