"""The worker's scratch directory upkeep, called directly on real directories (no pool)."""

from __future__ import annotations

import os

import pytest

from harness import _worker as worker


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    path = tmp_path / "scratch"
    path.mkdir()
    monkeypatch.setattr(worker, "_SCRATCH", str(path))
    return path


def test_fresh_scratch_empties_unreadable_nested_and_linked_leftovers(scratch, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (scratch / "a" / "b").mkdir(parents=True)
    (scratch / "a" / "b" / "f.txt").write_text("x")
    os.chmod(scratch / "a" / "b", 0)
    os.chmod(scratch / "a", 0)
    deep = scratch / "deep"
    path = deep
    for _ in range(200):
        path = path / "d"
    path.mkdir(parents=True)
    (scratch / "link").symlink_to(outside)
    (scratch / "file.txt").write_text("y")

    assert worker._fresh_scratch() == str(scratch)
    assert os.listdir(scratch) == []
    assert outside.read_text() == "keep me"  # a symlink is removed, never followed


def test_fresh_scratch_reports_what_it_cannot_remove(scratch, monkeypatch):
    (scratch / "stuck").mkdir()

    def refuse(path, *args, **kwargs):
        raise PermissionError(1, "Operation not permitted", path)

    monkeypatch.setattr(worker.os, "rmdir", refuse)
    with pytest.raises(worker.ScratchDirty, match="cannot empty the scratch directory"):
        worker._fresh_scratch()


def test_remove_tree_gives_up_on_a_directory_it_cannot_delete_instead_of_looping(tmp_path, monkeypatch):
    (tmp_path / "t" / "u").mkdir(parents=True)
    real_rmdir = os.rmdir
    calls = []

    def rmdir(path, *args, **kwargs):
        calls.append(path)
        if str(path).endswith("u"):
            raise PermissionError(1, "Operation not permitted", path)
        return real_rmdir(path, *args, **kwargs)

    monkeypatch.setattr(worker.os, "rmdir", rmdir)
    worker._remove_tree(str(tmp_path / "t"))
    assert (tmp_path / "t" / "u").is_dir()
    assert len(calls) == 2  # u once, then t once: no retry loop
