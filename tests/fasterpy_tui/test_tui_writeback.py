"""Hunks, safe writes and the persistent undo journal (the parts under every accept)."""

from __future__ import annotations

import os

import pytest

from fasterpy_tui.document import Document, backup_path
from fasterpy_tui.hunks import apply_hunks, compute_hunks
from fasterpy_tui.journal import UndoJournal
from harness.errors import FasterPyError

OLD = "import os\n\ndef f(x):\n    a = 1\n    b = 2\n    return a + b + x\n\nprint(f(1))\n"
NEW = "import os\nimport sys\n\ndef f(x):\n    a = 1\n    return 3 + x\n\nprint(f(1))\n"


def test_any_subset_of_hunks_applies_cleanly():
    hunks = compute_hunks(OLD, NEW)
    assert len(hunks) == 2
    assert apply_hunks(OLD, hunks, set()) == OLD
    assert apply_hunks(OLD, hunks, {0, 1}) == NEW
    only_import = apply_hunks(OLD, hunks, {0})
    assert "import sys" in only_import and "b = 2" in only_import
    only_body = apply_hunks(OLD, hunks, {1})
    assert "import sys" not in only_body and "return 3 + x" in only_body


def test_write_is_atomic_with_backup_and_refuses_a_changed_file(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(OLD)
    doc = Document.load(path)
    backup = doc.write(NEW)
    assert path.read_text() == NEW and backup.name == "m.py.bak" and backup.read_text() == OLD
    assert backup_path(path).name == "m.py.bak.1"  # the next write never overwrites a backup
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    path.write_text(NEW + "# edited elsewhere\n")
    os.utime(path, ns=(doc.mtime_ns + 10**9, doc.mtime_ns + 10**9))
    with pytest.raises(FasterPyError, match="changed on disk"):
        doc.write(OLD)
    assert path.read_text() == NEW + "# edited elsewhere\n"


def test_touch_without_change_is_not_a_conflict(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(OLD)
    doc = Document.load(path)
    os.utime(path, ns=(doc.mtime_ns + 10**9, doc.mtime_ns + 10**9))
    assert not doc.changed_on_disk()


def test_non_utf8_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = '\xe9'\n")
    with pytest.raises(FasterPyError, match="not UTF-8"):
        Document.load(path)


def test_undo_journal_survives_a_new_session_and_refuses_after_outside_edits(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(OLD)
    doc = Document.load(path)
    before = doc.data
    doc.write(NEW)
    UndoJournal(path, root=tmp_path / "cache").record(before, doc.data, "f: all 2 hunks")

    # a new process: fresh objects, same journal on disk
    doc2 = Document.load(path)
    journal2 = UndoJournal(path, root=tmp_path / "cache")
    assert len(journal2) == 1
    entry = journal2.undo(doc2)
    assert entry.label == "f: all 2 hunks" and path.read_text() == OLD and len(journal2) == 0
    with pytest.raises(FasterPyError, match="nothing to undo"):
        journal2.undo(doc2)

    doc2.write(NEW)
    journal2.record(OLD.encode(), NEW.encode(), "again")
    path.write_text(NEW + "# user edit\n")
    with pytest.raises(FasterPyError, match="changed on disk after the last accept"):
        journal2.undo(Document.load(path))
    assert path.read_text() == NEW + "# user edit\n"
