"""`fasterpy doctor` from the command line: exit codes, the table, --json, --config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from graph.backends.models import KNOWN_MODELS, missing_parts

MISSING_MODEL = "qwen2.5-coder-1.5b"


def test_cli_exits_1_for_a_missing_configured_model_and_json_parses(tmp_path: Path, fasterpy_bin: Path) -> None:
    if not missing_parts(KNOWN_MODELS[MISSING_MODEL]):
        pytest.skip(f"{MISSING_MODEL} is installed here")
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[generation]\nmodel = "{MISSING_MODEL}"\n')
    res = subprocess.run([str(fasterpy_bin), "doctor", "--config", str(settings)], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"model {MISSING_MODEL}" in res.stdout and "(needed)" in res.stdout
    assert "fasterpy[qwen-1.5b]" in res.stdout  # rich markup did not eat the brackets

    res = subprocess.run([str(fasterpy_bin), "doctor", "--json"], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    payload = json.loads(res.stdout)
    assert payload["exit_code"] == 0
    assert {"name", "status", "detail", "fix", "needed"} <= set(payload["checks"][0])
    assert {c["status"] for c in payload["checks"]} <= {"ok", "missing", "warn", "error"}


def test_cli_rejects_a_missing_settings_file(tmp_path: Path, fasterpy_bin: Path) -> None:
    res = subprocess.run([str(fasterpy_bin), "doctor", "--config", str(tmp_path / "nope.toml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
