"""File helpers every layer shares: atomic replacement with an optional backup, JSON-lines files read
and appended, and file digests.

Atomic means a reader (or a crash) sees the old file or the new one, never half of either: the data
goes to a temporary file beside the target, is fsynced, and moves onto it with `os.replace`."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from harness.errors import FasterPyError

#: "numbered": FILE.bak, then FILE.bak.1, … (never overwritten: a user's own files);
#: "previous": FILE.bak holds the previous version only (generated outputs, rewritten often).
Backup = Literal["numbered", "previous"]


def backup_path(path: Path) -> Path:
    """FILE.bak, or FILE.bak.1, FILE.bak.2 … when earlier backups exist (never overwritten)."""
    candidate = path.with_name(path.name + ".bak")
    n = 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    return candidate


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask  # what open(path, "w") would give; mkstemp's own 0o600 is for secrets


@contextmanager
def replacing(path: str | os.PathLike[str], *, mode_from: Path | None = None,
              backup: Backup | None = None) -> Iterator[Path]:
    """A temporary path beside `path` for the block to write (by name: for writers that want a
    filename); when the block ends it replaces `path` atomically, after copying the old file to its
    backup if one is asked for. If the block raises, the temporary file is removed and `path` is
    untouched. The permissions are those of `mode_from`, else of `path`, else a new file's default."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = mode_from if mode_from is not None else path
    mode = source.stat().st_mode & 0o7777 if source.exists() else _new_file_mode()
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if backup is not None and path.exists():
            target = backup_path(path) if backup == "numbered" else path.with_name(path.name + ".bak")
            shutil.copy2(path, target)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike[str], data: bytes | str, mode_from: Path | None = None, *,
                 backup: Backup | None = None) -> None:
    """Replace `path` with `data` (str is written as UTF-8) atomically; see `replacing`."""
    with replacing(path, mode_from=mode_from, backup=backup) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any], *, backup: Backup | None = None,
                ensure_ascii: bool = True, default: Any = None) -> None:
    """One JSON value per line, written atomically (see `replacing`)."""
    with replacing(path, backup=backup) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=ensure_ascii, default=default) + "\n")


def iter_jsonl(path: str | os.PathLike[str], *, skip_bad: bool = False,
               fix: str = "fix or remove that line") -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of a UTF-8 JSON-lines file (`.gz` is read through
    gzip). A line that is not JSON raises `FasterPyError` naming FILE:LINE and `fix`; with `skip_bad`
    it is left out instead — what a resumable writer's reader wants, whose last line may be
    half-written after a crash."""
    path = Path(path)
    if not path.is_file():
        raise FasterPyError(f"{path} does not exist — check the path")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
                if not line.strip():
                    continue
                value = json.loads(line)
            except UnicodeDecodeError as exc:
                if skip_bad:
                    continue
                raise FasterPyError(f"{path}:{lineno} is not UTF-8 ({exc.reason}) — {fix}") from None
            except json.JSONDecodeError as exc:
                if skip_bad:
                    continue
                raise FasterPyError(f"{path}:{lineno} is not valid JSON ({exc.msg}) — {fix}") from None
            yield lineno, value


def read_jsonl(path: str | os.PathLike[str], *, skip_bad: bool = False,
               fix: str = "fix or remove that line") -> list[Any]:
    """Every value of a JSON-lines file, in order; see `iter_jsonl`."""
    return [value for _, value in iter_jsonl(path, skip_bad=skip_bad, fix=fix)]


def drop_torn_tail(handle: IO[bytes]) -> None:
    """Cut a half-written last line (no final newline: a crash mid-append) from a file opened for
    binary read and write, so the next appended line starts on a line of its own."""
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return
    handle.seek(end - 1)
    if handle.read(1) == b"\n":
        return
    handle.seek(0)
    handle.truncate(handle.read().rfind(b"\n") + 1)
    handle.seek(0, os.SEEK_END)


def append_jsonl(path: str | os.PathLike[str], row: Any, *, ensure_ascii: bool = True,
                 default: Any = None) -> None:
    """Append one JSON line and flush it (a half-written last line left by a crash is dropped first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, ensure_ascii=ensure_ascii, default=default) + "\n"
    with open(path, "a+b") as handle:
        drop_torn_tail(handle)
        handle.write(line.encode("utf-8"))


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in chunks (`hashlib.file_digest`)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()
