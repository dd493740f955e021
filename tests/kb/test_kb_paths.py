"""The per-user cache directory: FASTERPY_CACHE, else the platform's (XDG on Linux)."""

from __future__ import annotations

import sys

import pytest

from kb.paths import cache_dir


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
