"""Run the pipeline off the UI thread, and make sure a cancelled run leaves no processes behind.

`start_run` runs `graph.api.optimize` in a thread worker of a Textual node (the main screen); the
worker reports only by messages (fasterpy_tui.messages): RunProgress for each event and
CandidateVerified for each candidate the verifier accepts (as soon as it is verified), then exactly
one of RunFinished, RunFailed or RunCancelled."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from fasterpy_tui.messages import CandidateVerified, RunCancelled, RunFailed, RunFinished, RunProgress
from harness.errors import FasterPyError

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.message import Message
    from textual.worker import Worker


def _descendant_pids() -> set[int]:
    try:
        return {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}
    except psutil.Error:
        return set()


@dataclass
class RunHandle:
    """One run: its cancel flag, start time, and the child processes that existed before it began
    (those are not ours to stop)."""

    targets: list[str]
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)
    baseline_pids: set[int] = field(default_factory=_descendant_pids)

    def new_processes(self) -> list[psutil.Process]:
        out: list[psutil.Process] = []
        try:
            children = psutil.Process(os.getpid()).children(recursive=True)
        except psutil.Error:
            return out
        for proc in children:
            if proc.pid not in self.baseline_pids:
                out.append(proc)
        return out

    def request_cancel(self) -> None:
        """Esc: the pipeline stops at its next cancel check, which stopping the sandboxes brings forward."""
        self.cancel.set()
        self.stop_sandboxes()

    def stop_sandboxes(self) -> int:
        """Kill the sandboxed runs in flight right now: the processes the warm workers forked
        (our grandchildren). The workers themselves survive and report the run as killed, so the
        pipeline reaches its next cancel check at once instead of after the run's time limit."""
        me = os.getpid()
        procs = []
        for proc in self.new_processes():
            try:
                if proc.ppid() != me:
                    procs.append(proc)
            except psutil.Error:
                pass
        return _stop(procs, grace_s=0.5)

    def shutdown(self, grace_s: float = 2.0) -> int:
        """After a cancelled run has returned: close the process-wide sandbox pool (a fresh one is
        made by the next run) and stop anything else the run started. Returns how many processes
        had to be stopped by force."""
        close_sandbox_pool()
        return self.reap(grace_s)

    def reap(self, grace_s: float = 2.0) -> int:
        """Stop every process the run started that is still alive (terminate, then kill).
        Returns how many had to be stopped."""
        return _stop([p for p in self.new_processes() if p.is_running()], grace_s)


def start_run(node: DOMNode, handle: RunHandle, path: Path, config: Callable[[], Any], backend: Any = None) -> Worker:
    """Run the pipeline on `handle.targets` of the file at `path` in a thread worker of `node`, which
    receives the messages. `config` is called in the worker, so a config file that cannot be read
    ends the run as RunFailed instead of raising on the UI thread. `backend`: a generation backend
    to use instead of the one the settings name (None: the settings')."""
    return node.run_worker(
        partial(run_pipeline, handle, path, config, node.post_message, backend),
        name="run",
        group="run",
        exclusive=True,
        thread=True,
        exit_on_error=False,
    )


def run_pipeline(handle: RunHandle, path: Path, config: Callable[[], Any], post: Callable[[Message], Any],
                 backend: Any = None) -> None:
    """The worker's body: never raises; its outcome is the one message it posts last. `post` is
    thread-safe (Textual's post_message): each accepted candidate reaches the screen while the
    pipeline goes on verifying the next one."""
    from graph.api import optimize

    try:
        result = optimize(
            path,
            handle.targets,
            config=config(),
            on_event=lambda event: post(RunProgress(event)),
            on_candidate=lambda candidate: post(CandidateVerified(candidate)),
            cancel=handle.cancel,
            backend=backend,
        )
    except FasterPyError as exc:
        post(RunCancelled() if handle.cancel.is_set() else RunFailed(exc, user_error=True))
        return
    except Exception as exc:  # a bug in the pipeline: show it, keep the session alive
        post(RunCancelled() if handle.cancel.is_set() else RunFailed(exc, user_error=False))
        return
    status = getattr(result, "status", "")
    if handle.cancel.is_set() or status == "cancelled":
        post(RunCancelled())
    elif status == "error":
        post(RunFailed(FasterPyError(result.error or "the run failed"), user_error=True))
    else:
        post(RunFinished(result, time.perf_counter() - handle.started))


def close_sandbox_pool() -> int:
    """Close every sandbox pool in this process (harness.pool.close_all); only if the harness was
    ever imported. Returns how many closed."""
    import sys

    harness_pool = sys.modules.get("harness.pool")
    return harness_pool.close_all() if harness_pool is not None else 0


def _stop(procs: list[psutil.Process], grace_s: float) -> int:
    if not procs:
        return 0
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace_s)
    return len(procs)
