"""The `llamacpp` backend: any GGUF file (or packaged model name) through llama-cpp-python on CPU,
with the chat template stored in the GGUF."""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, cancelled, wanted
from harness.errors import FasterPyError


def _import_llama() -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise FasterPyError(
            "llama-cpp-python is not installed — run: pip install 'fasterpy[llamacpp]' "
            "(it compiles llama.cpp; set CMAKE_ARGS=-DGGML_NATIVE=OFF for a portable build)"
        ) from exc
    return Llama


class LlamaCppBackend:
    name = "llamacpp"
    options: ClassVar[dict[str, str]] = {
        "model": "GGUF file or packaged model name (see `fasterpy models`)",
        "threads": "llama.cpp CPU threads (default all cores)",
        "context_tokens": "context window in tokens",
        "temperature": "sampling temperature; 0 = greedy",
        "top_p": "nucleus sampling mass",
        "max_new_tokens": "most tokens per reply",
        "n": "candidates per round",
        "seed": "sampling seed (candidate i uses seed + i)",
    }

    def __init__(self, config: GenerationConfig) -> None:
        if not config.model:
            raise FasterPyError("the llamacpp backend needs --model (a GGUF file or a name from `fasterpy models`)")
        if config.adapter:
            raise FasterPyError("the llamacpp backend cannot apply a peft adapter — use --backend transformers")
        from graph.backends.models import ensure_model

        path = ensure_model(config.model)
        if path.is_dir() or path.suffix.lower() != ".gguf":
            raise FasterPyError(f"{path} is not a GGUF file — use --backend transformers for model directories")
        Llama = _import_llama()
        self.config = config
        self.path = path
        self.last_stats = GenerationStats()
        threads = config.threads or max(1, os.cpu_count() or 1)
        t0 = time.perf_counter()
        try:
            self.llm = Llama(
                model_path=str(path), n_ctx=config.context_tokens, n_threads=threads,
                n_threads_batch=threads, seed=config.seed, verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise FasterPyError(f"llama.cpp could not load {path.name}: {exc} — is it a valid GGUF file?") from exc
        self.load_s = time.perf_counter() - t0

    def _end_on(self, event: Any) -> Any:
        """A logits processor that forces end-of-sequence once `event` is set: the completion call
        returns after one more token instead of running to max_tokens."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        eos = self.llm.token_eos()

        def end(input_ids: Any, scores: Any) -> Any:
            if event.is_set():
                scores = np.full_like(scores, -np.inf)
                scores[eos] = 0.0
            return scores

        return LogitsProcessorList([end])

    def generate(self, request: GenerationRequest) -> list[str]:
        cfg = self.config
        n = wanted(request, cfg)
        replies: list[str] = []
        stats = GenerationStats()
        t0 = time.perf_counter()
        extra: dict[str, Any] = {}
        if request.cancel is not None:
            extra["logits_processor"] = self._end_on(request.cancel)
        for i in range(n):  # llama.cpp decodes one sequence at a time
            if cancelled(request):
                break
            try:
                out = self.llm.create_chat_completion(
                    messages=request.messages, temperature=cfg.temperature, top_p=cfg.top_p,
                    max_tokens=cfg.max_new_tokens, seed=cfg.seed + i, **extra,
                )
            except ValueError as exc:  # prompt longer than the context window
                raise FasterPyError(f"llama.cpp: {exc} — raise the context size or shorten the input") from exc
            replies.append(out["choices"][0]["message"]["content"] or "")
            usage = out.get("usage") or {}
            stats.completion_tokens += int(usage.get("completion_tokens", 0))
            stats.prompt_tokens += int(usage.get("prompt_tokens", 0))
            if stats.first_candidate_s is None:
                stats.first_candidate_s = time.perf_counter() - t0
        stats.candidates = len(replies)
        stats.seconds = time.perf_counter() - t0
        self.last_stats = stats
        return replies
