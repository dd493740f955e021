"""Shared fixtures of the TUI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "slow_stats.py"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the shipped example file, at a fixed name (snapshots show it)."""
    target = tmp_path / "slow_stats.py"
    shutil.copyfile(EXAMPLE, target)
    return target
