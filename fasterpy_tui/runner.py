"""Run the pipeline off the UI thread, and make sure a cancelled run leaves no processes behind."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import psutil


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
        out = []
        try:
            children = psutil.Process(os.getpid()).children(recursive=True)
        except psutil.Error:
            return out
        for proc in children:
            if proc.pid not in self.baseline_pids:
                out.append(proc)
        return out

    def reap(self, grace_s: float = 2.0) -> int:
        """Stop every process the run started that is still alive (terminate, then kill).
        Returns how many had to be stopped."""
        procs = [p for p in self.new_processes() if p.is_running()]
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
