"""graph.changed: the functions a real git diff touched, in a repository made in tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from graph.changed import changed_functions
from harness.errors import FasterPyError

BEFORE = '''import os


def untouched(x):
    return x + 1


def modified(x):
    y = x * 2
    return y


def deleted(x):
    return x - 1


def shortened(x):
    x += 1
    return x


class Box:
    def size(self):
        return 1
'''

AFTER = '''import os


def untouched(x):
    return x + 1


def modified(x):
    y = x * 3
    return y


def shortened(x):
    x += 1


class Box:
    def size(self):
        return 1

    def added(self):
        def helper():
            return 2
        return helper()


def brand_new():
    return 0
'''


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "m.py").write_text(BEFORE)
    (repo / "other.py").write_text("def same():\n    return 1\n")
    (repo / "notes.txt").write_text("not python\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    return repo


def test_working_tree_changes_against_head(repo):
    (repo / "m.py").write_text(AFTER)
    (repo / "notes.txt").write_text("changed, but not python\n")
    assert changed_functions(cwd=repo) == {repo / "m.py": ["modified", "shortened", "Box.added", "brand_new"]}


def test_changes_since_a_branch_include_commits_and_untracked_files(repo):
    _git(repo, "checkout", "-qb", "feature")
    (repo / "m.py").write_text(AFTER)
    _git(repo, "commit", "-qam", "second")
    (repo / "other.py").write_text("def same():\n    return 2\n")
    (repo / "fresh.py").write_text("def one():\n    return 1\n\n\nclass K:\n    def two(self):\n        return 2\n")
    picked = changed_functions("main", cwd=repo)
    assert picked == {repo / "fresh.py": ["one", "K.two"], repo / "m.py": ["modified", "shortened", "Box.added", "brand_new"],
                      repo / "other.py": ["same"]}
    assert changed_functions("HEAD", cwd=repo) == {repo / "fresh.py": ["one", "K.two"], repo / "other.py": ["same"]}
    assert changed_functions("main", repo / "m.py") == {repo / "m.py": ["modified", "shortened", "Box.added", "brand_new"]}


def test_no_changes(repo):
    assert changed_functions(cwd=repo) == {}


def test_bad_refs_and_places(repo, tmp_path):
    with pytest.raises(FasterPyError, match=r"git ref 'nosuch' does not exist in .* — give a branch, tag or commit"):
        changed_functions("nosuch", cwd=repo)
    with pytest.raises(FasterPyError, match="is not a git ref"):
        changed_functions("--output=x", cwd=repo)
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    (elsewhere / "m.py").write_text(BEFORE)
    with pytest.raises(FasterPyError, match=r"is not inside a git repository — --changed compares with a git ref"):
        changed_functions(cwd=elsewhere)
    with pytest.raises(FasterPyError, match="is not inside a git repository"):
        changed_functions("HEAD", elsewhere / "m.py")
