"""The file being optimized: what was loaded, whether it changed on disk since, and safe writes.

Nothing here writes unless a caller asks; callers only ask after an explicit accept in the UI. A
write survives kill -9, a full disk and a second session (see harness.files.replace_checked)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FasterPyError
from harness.files import backup_path as backup_path  # re-exported: callers and tests name it here
from harness.files import file_digest, replace_checked


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Document:
    """A source file as the session last saw it (bytes, mtime, hash)."""

    path: Path
    data: bytes
    mtime_ns: int
    digest: str

    @classmethod
    def load(cls, path: str | Path) -> Document:
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise FasterPyError(f"{path} is not a file — pass a Python source file to fasterpy-tui")
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FasterPyError(f"{path} is not UTF-8 ({exc.reason}) — save it as UTF-8 first") from None
        return cls(path=path, data=data, mtime_ns=path.stat().st_mtime_ns, digest=sha256(data))

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def changed_on_disk(self) -> bool:
        """True when the file on disk is no longer what was loaded (mtime moved and content differs)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return True
        if stat.st_mtime_ns == self.mtime_ns:
            return False
        return file_digest(self.path) != self.digest

    def _changed_error(self) -> FasterPyError:
        return FasterPyError(f"{self.path.name} changed on disk since it was loaded — nothing was written; "
                             "reload it (ctrl+l) and run again")

    def ensure_unchanged(self) -> None:
        if self.changed_on_disk():
            raise self._changed_error()

    def write(self, new_text: str) -> Path:
        """Replace the file atomically after backing up the current bytes; returns the backup path.
        Refuses when the file changed on disk since it was loaded, or while another session writes
        it (harness.files.replace_checked: the check, backup and replace run under a lock)."""
        self.ensure_unchanged()

        def unchanged(current: bytes) -> None:
            if sha256(current) != self.digest:  # checked again under the lock, on the bytes themselves
                raise self._changed_error()

        data = new_text.encode("utf-8")
        backup = replace_checked(self.path, data, unchanged)
        self.data = data
        self.digest = sha256(data)
        self.mtime_ns = self.path.stat().st_mtime_ns
        return backup

    def reload(self) -> None:
        fresh = Document.load(self.path)
        self.data, self.mtime_ns, self.digest = fresh.data, fresh.mtime_ns, fresh.digest
