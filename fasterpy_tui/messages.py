"""Messages the run worker posts to the UI thread (Textual delivers them in order)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from graph.events import ProgressEvent


class RunProgress(Message):
    """One pipeline ProgressEvent, forwarded from the worker thread."""

    def __init__(self, event: ProgressEvent) -> None:
        super().__init__()
        self.event = event


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
