"""Undo journal for accepted changes, kept in the cache directory so `u` works after a restart.

Each entry stores the bytes before an accept and the hash after it; undo restores the bytes only
when the file on disk is still exactly what that accept wrote."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fasterpy_tui.document import Document, sha256
from harness.errors import FasterPyError
from harness.files import append_jsonl, file_digest, read_jsonl, write_jsonl
from kb.paths import cache_dir


@dataclass
class JournalEntry:
    path: str
    before: bytes
    after_sha256: str
    label: str
    time: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": base64.b64encode(self.before).decode("ascii"),
            "after_sha256": self.after_sha256,
            "label": self.label,
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> JournalEntry:
        return cls(raw["path"], base64.b64decode(raw["before"]), raw["after_sha256"], raw["label"], raw["time"])


class UndoJournal:
    """One JSON-lines file per edited source file, under <cache>/tui-undo/."""

    def __init__(self, path: Path, root: Path | None = None) -> None:
        self.source = Path(path).resolve()
        folder = (root or cache_dir()) / "tui-undo"
        folder.mkdir(parents=True, exist_ok=True)
        key = sha256(str(self.source).encode("utf-8"))[:16]
        self.file = folder / f"{self.source.name}-{key}.jsonl"

    def entries(self) -> list[JournalEntry]:
        if not self.file.exists():
            return []
        # a line torn by a crash mid-record is left out: that accept's backup is still FILE.bak*
        return [JournalEntry.from_dict(raw) for raw in read_jsonl(self.file, skip_bad=True)]

    def __len__(self) -> int:
        return len(self.entries())

    def record(self, before: bytes, after: bytes, label: str) -> None:
        entry = JournalEntry(str(self.source), before, sha256(after), label, time.time())
        append_jsonl(self.file, entry.to_dict())

    def _rewrite(self, entries: list[JournalEntry]) -> None:
        write_jsonl(self.file, [e.to_dict() for e in entries])

    def undo(self, document: Document) -> JournalEntry:
        """Restore the bytes before the last accept; refuses if the file was edited since."""
        entries = self.entries()
        if not entries:
            raise FasterPyError(f"nothing to undo for {self.source.name} — accept a change first")
        last = entries[-1]
        on_disk = file_digest(self.source) if self.source.exists() else ""
        if on_disk != last.after_sha256:
            raise FasterPyError(
                f"{self.source.name} changed on disk after the last accept — undo refused; "
                f"the previous versions are in {self.source.name}.bak*"
            )
        document.reload()
        document.write(last.before.decode("utf-8"))
        self._rewrite(entries[:-1])
        return last
