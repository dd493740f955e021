"""Where FasterPy finds its shipped data and keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

_REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The shipped `data/` directory (override with FASTERPY_DATA)."""
    env = os.environ.get("FASTERPY_DATA")
    if env:
        return Path(env)
    return _REPO_ROOT / "data"


def cache_dir() -> Path:
    """Per-user cache for assembled models, conversions, runs and the --learn KB (override with
    FASTERPY_CACHE): the platform's user cache directory, `$XDG_CACHE_HOME/fasterpy` or
    `~/.cache/fasterpy` on Linux."""
    env = os.environ.get("FASTERPY_CACHE")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("fasterpy", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
