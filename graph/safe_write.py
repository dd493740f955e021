"""Writing a user's file safely: a backup that is never overwritten, and atomic replacement.

One implementation for `fasterpy optimize --write` (graph.api.write_result) and the TUI's accept."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def backup_path(path: Path) -> Path:
    """FILE.bak, or FILE.bak.1, FILE.bak.2 … when earlier backups exist (never overwritten)."""
    candidate = path.with_name(path.name + ".bak")
    n = 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    return candidate


def atomic_write(path: Path, data: bytes, mode_from: Path | None = None) -> None:
    """Temp file in the same directory + fsync + os.replace, so a crash never leaves half a file.
    The permissions are those of `mode_from`, else of `path` itself, else 0o644."""
    source = mode_from if mode_from is not None else path
    mode = source.stat().st_mode & 0o7777 if source.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
