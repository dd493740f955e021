"""File helpers every layer shares: atomic replacement with an optional backup, a checked and locked
replacement of a user's file (`replace_checked`), JSON-lines files read and appended, and file digests.

Atomic means a reader (or a crash, even `kill -9`) sees the old file or the new one, never half of
either: the data goes to a temporary file beside the target, is fsynced, and moves onto it with
`os.replace` (the folder is fsynced after). A full disk (ENOSPC, EDQUOT) leaves the target untouched
and is one FasterPyError line saying so."""

from __future__ import annotations

import errno
import fcntl
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
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
    with _no_space_is_one_line(path):
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with _no_space_is_one_line(path):
            yield tmp
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            if backup is not None and path.exists():
                target = backup_path(path) if backup == "numbered" else path.with_name(path.name + ".bak")
                atomic_write(target, path.read_bytes(), mode_from=path)  # whole, or not there
                shutil.copystat(path, target)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


class NoSpaceError(FasterPyError):
    """The disk (or quota) was full: nothing was replaced."""

    @classmethod
    def of(cls, path: Path, reason: str = "No space left on device") -> NoSpaceError:
        return cls(f"no space left on the disk of {path} ({reason}) — {path.name} is untouched; "
                   "free some space and try again")


@contextmanager
def _no_space_is_one_line(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise NoSpaceError.of(path, os.strerror(exc.errno)) from None


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a power cut after it keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the rename itself is still atomic
        pass
    finally:
        os.close(fd)


def lock_path(path: Path) -> Path:
    """The lock file `exclusive` takes for `path`: `.NAME.lock` beside it."""
    return path.with_name(f".{path.name}.lock")


@contextmanager
def exclusive(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an advisory lock (flock) on `path`'s lock file for the block, so two sessions never
    replace the same file at once: the second raises FasterPyError at once instead of waiting. The
    kernel drops the lock when its holder dies (kill -9 included); the lock file is removed after."""
    path = Path(path)
    lock = lock_path(path)
    busy = FasterPyError(f"{path.name} is being written by another FasterPy session — nothing written; "
                         "let it finish, then run again")
    with _no_space_is_one_line(path):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        try:  # the holder before us may have removed the file we opened: that lock guards nothing
            if os.stat(lock).st_ino != os.fstat(fd).st_ino:
                raise busy
        except FileNotFoundError:
            raise busy from None
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)  # still locked: whoever opened it now sees a stale inode
    finally:
        os.close(fd)


def replace_checked(path: str | os.PathLike[str], data: bytes, check: Callable[[bytes], None]) -> Path:
    """Replace a user's file with `data`, keeping its old bytes in a numbered backup (see
    `backup_path`); returns the backup's path. Under `exclusive(path)`: read the current bytes, let
    `check(current)` raise to refuse (e.g. the file changed on disk since it was read), write the
    backup atomically, then replace the file atomically. A crash at any point leaves the file old or
    new, never mixed, and a new file only once its backup is complete."""
    path = Path(path)
    with exclusive(path):
        current = path.read_bytes()
        check(current)
        backup = backup_path(path)
        try:
            atomic_write(backup, current, mode_from=path)
        except NoSpaceError:
            raise NoSpaceError.of(path) from None  # name the user's file, not its backup
        atomic_write(path, data)
    return backup


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
