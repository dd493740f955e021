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

    assert resolve_backend_name(cfg.generation) == "cascade"  # rules, then the packaged model (issue 12)
    assert cfg.generation.cascade == ["rules", "llamacpp"]
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


def test_an_error_names_where_the_bad_value_was_set(tmp_path):
    (tmp_path / "fasterpy.toml").write_text("attempts = 0\n")
    with pytest.raises(FasterPyError, match=r"`attempts` must be at least 1 — fix it in .*fasterpy\.toml"):
        FasterPyConfig.load(tmp_path)
    assert FasterPyConfig.load(tmp_path, {"attempts": 2}).attempts == 2  # a flag fixes the file's value
    with pytest.raises(FasterPyError, match="'generation.temperature' in command-line options must be a number"):
        FasterPyConfig.load(tmp_path, {"attempts": 2, "generation.temperature": "hot"})


def test_from_dict_reads_a_checkpoint_written_before_the_schema(tmp_path):
    # FasterPyConfig.to_dict() as the dataclass version wrote it into LangGraph checkpoints.
    old = {
        "generation": {"backend": "rules", "model": None, "adapter": None, "base_url": None,
                       "api_key_env": "OPENAI_API_KEY", "temperature": 0.2, "top_p": 0.95, "max_new_tokens": 1024,
                       "n": 1, "timeout_s": 120.0, "seed": 42, "threads": None, "device": None,
                       "context_tokens": 4096, "retries": 3, "replay_column": "generated_answers"},
        "retrieval": {"k": 2, "m": None, "delta": None, "threshold": None},
        "kb": "/some/kb", "use_retrieval": True, "attempts": 1, "candidates": 2, "speedup_threshold": 1.1,
        "repeats": 8, "timeout_s": 10.0, "memory_mb": 1024, "float_tolerance": 1e-9, "mode": "each",
        "driver": None, "test_cmd": None, "learn": False, "learn_kb": None, "state_db": str(tmp_path / "runs.sqlite"),
    }
    cfg = FasterPyConfig.from_dict(old)
    assert (cfg.attempts, cfg.mode, cfg.generation.backend, cfg.kb) == (1, "each", "rules", "/some/kb")
    assert type(cfg.generation).__name__ == "GenerationConfig"  # the backends' own dataclass
    assert FasterPyConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()
    import json

    assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()  # plain values only


def test_saving_a_commented_file_keeps_its_comments_and_order(tmp_path):
    target = tmp_path / "fasterpy.toml"
    text = (
        "# team defaults: keep these few\n"
        "mode = \"each\"      # one target at a time\n"
        "attempts = 3        # rounds\n"
        "\n"
        "[generation]\n"
        "# offline until the server is up\n"
        "backend = \"rules\"\n"
    )
    target.write_text(text)
    cfg = FasterPyConfig.load(target)
    cfg.update({"attempts": 5})
    cfg.save(target)
    saved = target.read_text()
    assert saved == text.replace("attempts = 3 ", "attempts = 5 ")  # one value changed, nothing else
    assert FasterPyConfig.load(target).attempts == 5

    cfg.update({"generation.model": "qwen2.5-coder-0.5b"})
    cfg.save(target)
    saved = target.read_text()
    assert saved.startswith(text.replace("attempts = 3 ", "attempts = 5 "))
    assert saved.endswith('model = "qwen2.5-coder-0.5b"\n')


def test_saving_into_a_tool_table_keeps_the_rest_of_the_file(tmp_path):
    target = tmp_path / "settings.toml"
    target.write_text('[project]\nname = "x"  # ours\n\n[tool.fasterpy]\nattempts = 2\n\n[tool.black]\nline-length = 100\n')
    cfg = FasterPyConfig.load(target)
    cfg.update({"kb": "/my/kb", "generation.backend": "rules"})
    cfg.save(target)
    import tomllib

    data = tomllib.loads(target.read_text())
    assert data["project"] == {"name": "x"} and data["tool"]["black"] == {"line-length": 100}
    assert data["tool"]["fasterpy"] == {"attempts": 2, "kb": "/my/kb", "generation": {"backend": "rules"}}
    assert '"x"  # ours' in target.read_text()


def test_the_readme_configuration_example_loads(tmp_path, repo_root):
    readme = (repo_root / "README.md").read_text()
    section = readme.split("### Configuration", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "pyproject.toml").write_text(example)
    cfg = FasterPyConfig.load(tmp_path)
    assert cfg.source == str(tmp_path / "pyproject.toml") and cfg.generation.backend == "rules"
