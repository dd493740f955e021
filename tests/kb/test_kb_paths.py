"""The per-user cache and data directories (FASTERPY_CACHE / FASTERPY_USER_DATA, else the platform's,
XDG on Linux) and the shipped data found through importlib.resources."""

from __future__ import annotations

import sys

import pytest

from kb.paths import cache_dir, data_dir, user_data_dir, user_kb_dir


def test_fasterpy_cache_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTERPY_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine" and cache_dir().is_dir()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the documented Linux paths")
def test_linux_default_is_the_xdg_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTERPY_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "fasterpy"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "fasterpy"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the documented Linux paths")
def test_user_data_is_the_xdg_data_dir_not_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTERPY_USER_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert user_data_dir() == tmp_path / "xdg-data" / "fasterpy"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "fasterpy"


def test_learn_kb_lives_in_user_data_unless_an_old_cache_one_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTERPY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTERPY_USER_DATA", str(tmp_path / "data"))
    assert user_kb_dir() == tmp_path / "data" / "user-kb"
    old = tmp_path / "cache" / "user-kb"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text("{}")
    assert user_kb_dir() == old  # an older FasterPy's learned records keep being used
    new = tmp_path / "data" / "user-kb"
    new.mkdir(parents=True)
    (new / "manifest.json").write_text("{}")
    assert user_kb_dir() == new


def test_shipped_data_comes_from_the_fasterpy_data_package(monkeypatch):
    from importlib.resources import files

    monkeypatch.delenv("FASTERPY_DATA", raising=False)
    assert data_dir() == files("fasterpy_data")
    assert (data_dir() / "kb" / "default" / "manifest.json").is_file()
    assert (data_dir() / "examples" / "slow_stats.py").is_file()


def test_fasterpy_data_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTERPY_DATA", str(tmp_path))
    assert data_dir() == tmp_path
