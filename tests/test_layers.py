"""The layer contract in pyproject.toml holds for the tree, and really fails on an arrow the wrong way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["harness", "kb", "graph", "finetune", "fasterpy_tui"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def _copy_tree(dst: Path) -> None:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")


def test_layers_kept(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    proc = _lint(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "KEPT" in proc.stdout


@pytest.mark.parametrize("lower, upper", [("harness/limits.py", "graph.source"), ("kb/records.py", "fasterpy_tui.cli")])
def test_an_upward_import_breaks_the_contract(tmp_path: Path, lower: str, upper: str) -> None:
    _copy_tree(tmp_path)
    module = tmp_path / lower
    # A lazy import inside a function counts too: the layers are about what may be loaded at all.
    module.write_text(module.read_text(encoding="utf-8") + f"\n\ndef _wrong_way():\n    import {upper}  # noqa\n",
                      encoding="utf-8")
    proc = _lint(tmp_path)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout
    assert upper in proc.stdout
