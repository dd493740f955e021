"""Resource limits for one sandboxed run.

`Limits` travels with every request to a worker, so one pool can serve callers with different
limits. All limits apply to the forked child that runs the untrusted code, never to the worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-run limits.

    timeout_s     wall-clock seconds for one run (import of the code included); the child is killed
                  (SIGKILL to its process group) when it is exceeded. A CPU-time rlimit of
                  timeout_s + 1 s backs it up.
    memory_mb     address-space limit (RLIMIT_AS) of the child; allocation beyond it raises
                  MemoryError in the program, reported as status "memory".
    output_bytes  cap on captured stdout and on any file the program writes (RLIMIT_FSIZE); writing
                  past it is status "output_limit" and the first output_bytes are kept.
    stderr_bytes  how much of stderr's tail is kept for reports.
    """

    timeout_s: float = 10.0
    memory_mb: int = 1024
    output_bytes: int = 16 * MiB
    stderr_bytes: int = 8 * 1024

    def __post_init__(self) -> None:
        from harness.errors import FasterPyError

        if not self.timeout_s > 0:
            raise FasterPyError(f"timeout must be positive, got {self.timeout_s} — pass e.g. --timeout 10")
        if self.memory_mb < 64:
            raise FasterPyError(f"memory limit {self.memory_mb} MiB is too small — use at least 64")
        if self.output_bytes < 1:
            raise FasterPyError("output limit must be at least 1 byte — pass a positive size")

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes: Any) -> Limits:
        """A copy with some fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
