"""Shared fixtures. Area-specific fixtures live in each area's own test modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def fasterpy_bin() -> Path:
    """The installed console script in the project's venv."""
    return Path(sys.executable).parent / "fasterpy"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests from writing to the user's cache; assembled models are shared across the session."""
    if "FASTERPY_CACHE" not in os.environ:
        monkeypatch.setenv("FASTERPY_CACHE", str(tmp_path_factory.getbasetemp() / "fasterpy-cache"))
