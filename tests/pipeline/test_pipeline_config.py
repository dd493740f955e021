"""Settings: defaults < nearest fasterpy.toml / [tool.fasterpy] < flags; unknown keys are one-line errors."""

from __future__ import annotations

import subprocess

import pytest

from graph.config import FasterPyConfig, find_config_file
from harness.errors import FasterPyError


def test_defaults_without_any_file(tmp_path):
    cfg = FasterPyConfig.load(tmp_path)
    assert cfg.source == "defaults"
    assert cfg.attempts == 3 and cfg.mode == "together" and cfg.speedup_threshold == 1.1
    from graph.backends.registry import resolve_backend_name

    assert resolve_backend_name(cfg.generation) == "rules"  # offline by default
    assert cfg.retrieval.k == 2


def test_pyproject_table_is_found_from_a_subdirectory(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.fasterpy]\nattempts = 5\nmode = "each"\n'
        '[tool.fasterpy.generation]\ntemperature = 0.7\n[tool.fasterpy.retrieval]\nk = 3\n'
    )
    sub = tmp_path / "pkg" / "mod"
    sub.mkdir(parents=True)
    (sub / "code.py").write_text("x = 1\n")
    cfg = FasterPyConfig.load(sub / "code.py")
    assert (cfg.attempts, cfg.mode, cfg.generation.temperature, cfg.retrieval.k) == (5, "each", 0.7, 3)
    assert cfg.source == str(tmp_path / "pyproject.toml")


def test_pyproject_without_table_is_skipped_and_nearer_file_wins(tmp_path):
    (tmp_path / "fasterpy.toml").write_text("attempts = 7\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "y"\n')  # no [tool.fasterpy]
    assert FasterPyConfig.load(inner).attempts == 7
    (inner / "pyproject.toml").write_text('[tool.fasterpy]\nattempts = 4\n')
    assert FasterPyConfig.load(inner).attempts == 4
    # in one directory, fasterpy.toml wins over pyproject.toml
    (inner / "fasterpy.toml").write_text("attempts = 2\n")
    path, table = find_config_file(inner)
    assert path.name == "fasterpy.toml" and table["attempts"] == 2


def test_flags_override_the_file_and_unset_flags_do_not(tmp_path):
    (tmp_path / "fasterpy.toml").write_text('attempts = 6\ncandidates = 3\n[generation]\nbackend = "rules"\n')
    cfg = FasterPyConfig.load(tmp_path, {"attempts": 1, "candidates": None, "generation.temperature": 0.0})
    assert cfg.attempts == 1 and cfg.candidates == 3 and cfg.generation.temperature == 0.0


@pytest.mark.parametrize(
    "text, needle",
    [
        ("atempts = 3\n", "unknown setting 'atempts'"),
        ("[generation]\nbakend = 'x'\n", "unknown setting 'generation.bakend'"),
        ("attempts = 'many'\n", "'attempts'"),
        ("mode = 'sometimes'\n", "mode must be one of together, each"),
        ("attempts = \n", "not valid TOML"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, text, needle):
    (tmp_path / "fasterpy.toml").write_text(text)
    with pytest.raises(FasterPyError) as err:
        FasterPyConfig.load(tmp_path)
    assert needle in str(err.value)
    assert "\n" not in str(err.value).strip() or "TOML" in needle


def test_save_round_trips_atomically(tmp_path):
    cfg = FasterPyConfig.load(tmp_path, {"attempts": 4, "mode": "each", "kb": "/some/kb", "generation.temperature": 0.3})
    target = tmp_path / "conf" / "fasterpy.toml"
    cfg.save(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["fasterpy.toml"]  # no temp files left
    again = FasterPyConfig.load(target)
    assert again.to_dict() == cfg.to_dict()
    assert again.source == str(target)


def test_cli_reports_unknown_key_in_one_line(tmp_path, fasterpy_bin, repo_root):
    (tmp_path / "fasterpy.toml").write_text("speed = 3\n")
    code = tmp_path / "m.py"
    code.write_text("def f(x):\n    return x\n\nif __name__ == '__main__':\n    f(1)\n")
    res = subprocess.run([str(fasterpy_bin), "optimize", str(code), "-f", "f"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown setting 'speed'"), res.stderr
