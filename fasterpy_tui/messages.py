"""How the TUI's parts talk: the run worker posts to the main screen (Textual delivers messages in
order, across threads), widgets post to their screen, and the main screen posts to the app."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from graph.events import CandidateEvent, ProgressEvent


class RunProgress(Message):
    """One pipeline ProgressEvent, forwarded from the worker thread."""

    def __init__(self, event: ProgressEvent) -> None:
        super().__init__()
        self.event = event


class CandidateVerified(Message):
    """The verifier accepted a candidate while the search goes on (graph.events.CandidateEvent),
    forwarded from the worker thread: the main screen shows the best so far and can accept it."""

    def __init__(self, candidate: CandidateEvent) -> None:
        super().__init__()
        self.candidate = candidate


class RunFinished(Message):
    """The pipeline returned an OptimizeResult."""

    def __init__(self, result: Any, elapsed_s: float) -> None:
        super().__init__()
        self.result = result
        self.elapsed_s = elapsed_s


class RunFailed(Message):
    """The pipeline raised; `user_error` is True for a FasterPyError (shown as one line)."""

    def __init__(self, error: BaseException, user_error: bool) -> None:
        super().__init__()
        self.error = error
        self.user_error = user_error


class RunCancelled(Message):
    """Esc stopped the run; the worker has returned and its sandbox processes are gone."""


class HunkToggled(Message):
    """The diff view's hunk selection changed."""

    def __init__(self, selected: frozenset[int], total: int) -> None:
        super().__init__()
        self.selected = selected
        self.total = total


class OpenSettings(Message):
    """The main screen asks for the settings screen; the app owns the configuration and where it is
    saved, and hands a saved one to the screen's ConfigSource."""


class ProfileFinished(Message):
    """The profile worker measured the file: `timings` (graph.profile.FunctionTiming, hottest first)
    of the text whose sha256 is `digest`, under `driver` (None: the file's __main__ block)."""

    def __init__(self, timings: list[Any], digest: str, driver: str | None, elapsed_s: float) -> None:
        super().__init__()
        self.timings = timings
        self.digest = digest
        self.driver = driver
        self.elapsed_s = elapsed_s


class ProfileFailed(Message):
    """The profile worker could not measure the file; `text` is the one-line reason."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
