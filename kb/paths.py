"""Where FasterPy finds its shipped data and keeps the user's caches and data.

The shipped data is the top-level `data/` directory of the source tree, installed as the package
`fasterpy_data` (pyproject.toml maps it), so it is found through importlib.resources in a wheel, an
sdist install and an editable checkout alike."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import platformdirs

from harness.errors import FasterPyError

DATA_PACKAGE = "fasterpy_data"


def data_dir() -> Path:
    """The shipped data: default knowledge base, examples, PIE sample, adapter (override with
    FASTERPY_DATA)."""
    env = os.environ.get("FASTERPY_DATA")
    if env:
        return Path(env)
    root = files(DATA_PACKAGE)
    if not isinstance(root, Path):  # SQLite and hnswlib need real files, not members of an archive
        raise FasterPyError(f"FasterPy's data is not on the file system ({root}) — install FasterPy "
                            "with pip, pipx or uv, or point FASTERPY_DATA at a copy of its data/ directory")
    return root


def examples_dir() -> Path:
    """The shipped example programs (`data/examples`)."""
    return data_dir() / "examples"


def cache_dir() -> Path:
    """Per-user cache for assembled models, conversions, runs and the TUI's undo journal (override
    with FASTERPY_CACHE): the platform's user cache directory, `$XDG_CACHE_HOME/fasterpy` or
    `~/.cache/fasterpy` on Linux."""
    env = os.environ.get("FASTERPY_CACHE")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("fasterpy", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    """Per-user data that is not a cache, the --learn knowledge base (override with
    FASTERPY_USER_DATA): the platform's user data directory, `$XDG_DATA_HOME/fasterpy` or
    `~/.local/share/fasterpy` on Linux."""
    env = os.environ.get("FASTERPY_USER_DATA")
    path = Path(env) if env else Path(platformdirs.user_data_dir("fasterpy", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_kb_dir() -> Path:
    """The knowledge base --learn adds to: `<user data dir>/user-kb`, or `<cache>/user-kb` where an
    older FasterPy created it there and no new one exists yet (so learned records are not lost)."""
    new = user_data_dir() / "user-kb"
    old = cache_dir() / "user-kb"
    if not (new / "manifest.json").is_file() and (old / "manifest.json").is_file():
        return old
    return new
