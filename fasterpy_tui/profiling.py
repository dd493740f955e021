"""Profile the open file off the UI thread, for the function list's sort by measured time.

`start_profile` runs `graph.profile.profile_driver` (the configured driver, else the file's
__main__ block) in a thread worker of a Textual node (the main screen); the worker reports only by
messages (fasterpy_tui.messages): exactly one ProfileFinished or ProfileFailed. Esc stops it with
the RunHandle's `reap`, which ends the driver's process."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fasterpy_tui.messages import ProfileFailed, ProfileFinished
from fasterpy_tui.runner import RunHandle
from harness.errors import FasterPyError

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.message import Message
    from textual.worker import Worker


def start_profile(node: DOMNode, handle: RunHandle, path: Path, digest: str, config: Callable[[], Any]) -> Worker:
    """Profile the file at `path` (whose loaded text has sha256 `digest`) in a thread worker of
    `node`, which receives the messages. `config` is called in the worker, as for a run."""
    return node.run_worker(
        partial(run_profile, handle, path, digest, config, node.post_message),
        name="profile",
        group="profile",
        exclusive=True,
        thread=True,
        exit_on_error=False,
    )


def run_profile(handle: RunHandle, path: Path, digest: str, config: Callable[[], Any], post: Callable[[Message], Any]) -> None:
    """The worker's body: never raises; its outcome is the one message it posts."""
    from graph.profile import profile_driver

    driver: str | None = None
    try:
        driver = config().driver
        timings = profile_driver(driver, path)
    except FasterPyError as exc:
        post(ProfileFailed(one_line(str(exc))))
        return
    except Exception as exc:  # a bug in the profiler: one line, the session goes on
        post(ProfileFailed(one_line(f"{type(exc).__name__}: {exc}")))
        return
    post(ProfileFinished(timings, digest, driver, time.perf_counter() - handle.started))


def one_line(text: str) -> str:
    """The first non-empty line of an error message (a notification never shows a traceback)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "the profile failed")
