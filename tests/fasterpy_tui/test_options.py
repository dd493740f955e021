"""The reusable generation flags: a typer command decorated with generation_options."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from fasterpy_tui.options import generation_options
from graph.backends.base import GenerationConfig

app = typer.Typer()
seen: dict[str, object] = {}


@app.command("optimize")
@generation_options
def optimize(path: Path, generation: GenerationConfig, verbose: bool = False) -> None:
    seen.update(path=path, generation=generation, verbose=verbose)


@app.command("batch")
@generation_options
def batch(rows: Path, generation_overrides: dict) -> None:
    seen.update(rows=rows, overrides=generation_overrides)


def test_flags_build_a_config() -> None:
    args = ["optimize", "x.py", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
            "-n", "3", "--temperature", "0", "--top-p", "0.5", "--max-new-tokens", "99", "--timeout", "7",
            "--api-key-env", "K", "--threads", "2", "--adapter", "ad", "--device", "cpu", "--verbose"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    g = seen["generation"]
    assert isinstance(g, GenerationConfig)
    assert (g.backend, g.base_url, g.model, g.n, g.temperature, g.top_p, g.max_new_tokens, g.timeout_s,
            g.api_key_env, g.threads, g.adapter, g.device) == (
        "openai", "http://127.0.0.1:9/v1", "m", 3, 0.0, 0.5, 99, 7.0, "K", 2, "ad", "cpu")
    assert seen["path"] == Path("x.py") and seen["verbose"] is True


def test_overrides_hold_only_given_flags() -> None:
    res = CliRunner().invoke(app, ["batch", "rows.jsonl", "--model", "qwen2.5-coder-0.5b", "--candidates", "2"])
    assert res.exit_code == 0, res.output
    assert seen["overrides"] == {"model": "qwen2.5-coder-0.5b", "n": 2}
    base = GenerationConfig(temperature=0.7)
    merged = base.with_overrides(**seen["overrides"])
    assert (merged.model, merged.n, merged.temperature) == ("qwen2.5-coder-0.5b", 2, 0.7)


def test_bad_values_are_rejected_by_typer() -> None:
    res = CliRunner().invoke(app, ["optimize", "x.py", "--top-p", "2"])
    assert res.exit_code == 2
