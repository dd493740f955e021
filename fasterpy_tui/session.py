"""The state of one editing session, free of any UI: the loaded file, its functions, the run's
reviews, and accept / reject / undo with every safety check. The screens call into this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fasterpy_tui.document import Document
from fasterpy_tui.hunks import Hunk, apply_hunks, compute_hunks
from fasterpy_tui.journal import UndoJournal
from fasterpy_tui.review import TargetReview
from graph.source import FunctionInfo, list_functions
from harness.errors import FasterPyError

if TYPE_CHECKING:
    from graph.profile import FunctionTiming

# (review, text with only the chosen hunks) -> (outcome, note), outcome "verified" | "correct" | "failed";
# run before a partial write (see fasterpy_tui.reverify)
PartialVerifier = Callable[[TargetReview, str], tuple[str, str]]


class ConfirmationNeeded(FasterPyError):
    """The chosen hunks give the same outputs but no verified speedup: `a` again writes them."""


@dataclass
class Session:
    document: Document
    journal: UndoJournal
    functions: list[FunctionInfo] = field(default_factory=list)
    reviews: list[TargetReview] = field(default_factory=list)
    index: int = 0
    awaiting_confirmation: str | None = None  # partial text shown correct-but-not-faster
    timings: dict[str, FunctionTiming] | None = None  # measured times of the text as it is now, by qualname

    @classmethod
    def open(cls, path: str | Path, journal_root: Path | None = None) -> Session:
        document = Document.load(path)
        session = cls(document=document, journal=UndoJournal(document.path, root=journal_root))
        session.parse()
        return session

    @property
    def path(self) -> Path:
        return self.document.path

    def reload(self) -> None:
        self.document.reload()
        self.parse()

    def parse(self) -> None:
        """The functions of the text as it is now; a profile of an earlier text no longer applies."""
        self.functions = list_functions(self.document.text)
        self.timings = None

    # -- measured time ------------------------------------------------------------------------------
    def set_profile(self, timings: list[FunctionTiming]) -> int:
        """Keep the timings of this file's functions (the hottest of a repeated name); returns how
        many of its functions the profile saw."""
        own: dict[str, FunctionTiming] = {}
        names = {f.qualname for f in self.functions}
        for timing in timings:
            if timing.qualname in names and Path(timing.path).resolve() == self.path and timing.qualname not in own:
                own[timing.qualname] = timing
        self.timings = own
        return len(own)

    def shares(self) -> dict[str, float] | None:
        """Each profiled function's share of the driver's time (0..1), or None before a profile."""
        if self.timings is None:
            return None
        return {name: timing.share for name, timing in self.timings.items()}

    # -- navigation ---------------------------------------------------------------------------------
    @property
    def current(self) -> TargetReview | None:
        return self.reviews[self.index] if self.reviews else None

    def move(self, delta: int) -> TargetReview | None:
        if self.reviews:
            self.index = (self.index + delta) % len(self.reviews)
        return self.current

    # -- diffs --------------------------------------------------------------------------------------
    def proposed_text(self, review: TargetReview | None = None) -> str | None:
        """The whole file as it is now, with this review's candidate function spliced in."""
        from graph.source import splice_functions

        review = review or self.current
        if review is None or review.candidate is None:
            return None
        return splice_functions(self.document.text, review.candidate.source, review.targets or [review.target])

    def hunks(self, review: TargetReview | None = None) -> list[Hunk]:
        proposed = self.proposed_text(review)
        return [] if proposed is None else compute_hunks(self.document.text, proposed)

    # -- decisions ----------------------------------------------------------------------------------
    def accept(
        self, selected: set[int] | None = None, verify_partial: PartialVerifier | None = None
    ) -> str:
        """Write the current candidate (all hunks, or only `selected` after re-verifying them)."""
        review = self.current
        if review is None or review.candidate is None:
            raise FasterPyError("no verified candidate to accept — run first (ctrl+r)")
        if review.decision == "accepted":
            raise FasterPyError(f"{review.target} is already accepted — press u to undo it")
        self.document.ensure_unchanged()
        proposed = self.proposed_text(review)
        assert proposed is not None
        hunks = compute_hunks(self.document.text, proposed)
        if not hunks:
            raise FasterPyError(f"{review.target}: the file already has this code — nothing to write")
        chosen = set(range(len(hunks))) if selected is None else set(selected)
        if not chosen:
            raise FasterPyError("no hunk selected — toggle hunks with space/h, then press a")
        label = f"{review.target}: all {len(hunks)} hunks"
        verdict_note = ""
        if chosen != set(range(len(hunks))):
            text = apply_hunks(self.document.text, hunks, chosen)
            label = f"{review.target}: hunks {', '.join(str(i + 1) for i in sorted(chosen))} of {len(hunks)}"
            if text == self.awaiting_confirmation:  # checked a moment ago: same outputs; user confirmed
                verdict_note = "same outputs, written on your confirmation"
            else:
                if verify_partial is None:
                    raise FasterPyError("this result cannot re-verify a partial patch — accept all hunks instead")
                outcome, verdict_note = verify_partial(review, text)
                if outcome == "correct":
                    self.awaiting_confirmation = text
                    raise ConfirmationNeeded(
                        f"the selected hunks give the same outputs but are not faster ({verdict_note}) — "
                        "press a again to write them anyway, or pick other hunks"
                    )
                if outcome != "verified":
                    raise FasterPyError(f"the selected hunks failed verification ({verdict_note}) — nothing was written")
        else:
            text = proposed
        self.awaiting_confirmation = None
        before = self.document.data
        backup = self.document.write(text)
        self.journal.record(before, self.document.data, label)
        review.decision = "accepted"
        self.parse()
        note = f"; {verdict_note}" if verdict_note else ""
        return f"wrote {self.path.name} ({label}{note}); backup {backup.name}"

    def reject(self) -> str:
        review = self.current
        if review is None:
            raise FasterPyError("nothing to reject — run first (ctrl+r)")
        review.decision = "rejected"
        return f"rejected {review.target}; the file is unchanged"

    def undo(self) -> str:
        entry = self.journal.undo(self.document)
        for review in self.reviews:
            if review.decision == "accepted" and entry.label.startswith(review.target + ":"):
                review.decision = "pending"
        self.parse()
        return f"undid {entry.label}; {self.path.name} restored"
