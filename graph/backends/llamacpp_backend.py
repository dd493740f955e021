"""The `llamacpp` backend: any GGUF file (or packaged model name) through llama-cpp-python on CPU,
with the chat template stored in the GGUF.

Decoding is parallel and in process (not llama-server with parallel slots): the n candidates of a
request are decoded together as parallel sequences of one llama.cpp context, and the prompt
prefix (system prompt + code + suggestions) stays in its KV cache, so a target's prefix is
evaluated once across its candidates and attempts (graph.backends.llamacpp_parallel). Each
sequence samples with its own seed and temperature: the request's `temperatures` where it gives
them, else spread upward from the configured one; a reply identical to another is drawn again (with
a fresh seed; hotter too unless the request pinned its temperature), so n candidates differ when
the model allows.
`--adapter` applies a LoRA at runtime to the GGUF base (graph.backends.gguf_lora converts a peft one).
`parallel=False` keeps the earlier sequential decoding (one `create_chat_completion` per candidate)
for the speed benchmark."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, cancelled, wanted
from graph.backends.llamacpp_parallel import SEED_STRIDE, ParallelDecoder, eog_tokens, redraw, sequence_specs
from harness.errors import FasterPyError

TEMPERATURE_STEP = 0.25  # candidate i samples at temperature + i * step (candidate 0 at the configured one)
TEMPERATURE_MAX = 1.2
LORA_SCALE = 1.0  # peft's own scale is in the GGUF LoRA's alpha (graph.backends.gguf_lora)
REDRAWS = 2  # rounds that re-draw replies identical to an earlier one


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
        "adapter": "LoRA: a peft adapter directory (converted once to a GGUF LoRA) or a GGUF LoRA file",
        "threads": "llama.cpp CPU threads (default all cores)",
        "context_tokens": "context window in tokens",
        "temperature": "sampling temperature; 0 = greedy",
        "top_p": "nucleus sampling mass",
        "max_new_tokens": "most tokens per reply",
        "n": "candidates per round",
        "seed": "sampling seed (candidate i uses seed + i; a request's variant v adds v * 1000)",
    }

    def __init__(self, config: GenerationConfig, *, parallel: bool = True, ignore_eos: bool = False) -> None:
        if not config.model:
            raise FasterPyError("the llamacpp backend needs --model (a GGUF file or a name from `fasterpy models`)")
        from graph.backends.gguf_lora import adapter_path
        from graph.backends.models import ensure_model

        if config.adapter:
            adapter_path(config.adapter)  # a wrong path fails before the model loads
        path = ensure_model(config.model)
        if path.is_dir() or path.suffix.lower() != ".gguf":
            raise FasterPyError(f"{path} is not a GGUF file — use --backend transformers for model directories")
        Llama = _import_llama()
        self.config = config
        self.path = path
        self.parallel = parallel
        self.ignore_eos = ignore_eos  # the speed benchmark: every reply runs to max_new_tokens
        self.last_stats = GenerationStats()
        self._decoder: ParallelDecoder | None = None
        self._lora: Any = None  # the llama.cpp LoRA adapter (owned by the model), set on every context
        self.adapter_path: Path | None = None  # the GGUF LoRA file in use
        self.threads = threads = config.threads or max(1, os.cpu_count() or 1)
        t0 = time.perf_counter()
        try:
            self.llm = Llama(
                model_path=str(path), n_ctx=config.context_tokens, n_threads=threads,
                n_threads_batch=threads, seed=config.seed, verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise FasterPyError(f"llama.cpp could not load {path.name}: {exc} — is it a valid GGUF file?") from exc
        if config.adapter:
            self._attach_adapter(config.adapter)
        if parallel:
            self._decoder_for(config.n)
        self.load_s = time.perf_counter() - t0

    def _attach_adapter(self, adapter: str) -> None:
        """Load the adapter (a GGUF LoRA, or a peft directory converted once, graph.backends.gguf_lora)
        onto the model and set it on the sequential context; the parallel context gets it when made.
        The same calls as `Llama(lora_path=...)`, made after loading because the conversion needs the
        base's metadata, which also keeps the model memory-mapped (lora_path turns mmap off)."""
        import llama_cpp
        from llama_cpp._utils import suppress_stdout_stderr

        from graph.backends.gguf_lora import BaseInfo, gguf_lora_for

        self.adapter_path = gguf_lora_for(adapter, BaseInfo.from_metadata(self.llm.metadata))
        with suppress_stdout_stderr(disable=False):  # llama.cpp logs a line per tensor, as Llama(verbose=False) hides
            self._lora = llama_cpp.llama_adapter_lora_init(self.llm.model, str(self.adapter_path).encode("utf-8"))
        if not self._lora:
            raise FasterPyError(f"llama.cpp could not apply the LoRA {self.adapter_path} to {self.path.name} — "
                                "was the adapter trained on this base model (same architecture and size)?")
        self._set_lora(self.llm.ctx)

    def _set_lora(self, ctx: Any) -> None:
        import ctypes

        import llama_cpp

        adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self._lora)
        scales = (ctypes.c_float * 1)(LORA_SCALE)
        if llama_cpp.llama_set_adapters_lora(ctx, adapters, 1, scales):
            raise FasterPyError(f"llama.cpp could not set the LoRA {self.adapter_path} on its context — "
                                "use --backend transformers for this adapter")

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
        return self._generate_parallel(request) if self.parallel else self._generate_sequential(request)

    def drop_prompt_cache(self) -> None:
        """Forget every cached prompt, sequential and parallel (the speed benchmark's cold start per target)."""
        self.llm.reset()
        if self._decoder is not None:
            self._decoder.forget()

    def _prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        """The chat prompt as create_chat_completion builds it from the GGUF's chat template."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise FasterPyError(f"{self.path.name} has no chat template — use a chat/instruct GGUF model")
        model = self.llm._model
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        fmt = Jinja2ChatFormatter(template=template, eos_token=model.token_get_text(eos) if eos != -1 else "",
                                  bos_token=model.token_get_text(bos) if bos != -1 else "")
        text = fmt(messages=messages).prompt  # type: ignore[arg-type]
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _decoder_for(self, n: int) -> ParallelDecoder:
        """The parallel context, made (again) when it has no room for n sequences; dropping it drops the prefix cache."""
        cfg = self.config
        if self._decoder is None or self._decoder.capacity < n:
            if self._decoder is not None:
                self._decoder.close()
            self._decoder = ParallelDecoder(self.llm.model, capacity=max(n, cfg.n), context_tokens=cfg.context_tokens,
                                            max_new_tokens=cfg.max_new_tokens, threads=self.threads)
            if self._lora is not None:
                self._set_lora(self._decoder.ctx)
        return self._decoder

    def _generate_parallel(self, request: GenerationRequest) -> list[str]:
        cfg = self.config
        n = wanted(request, cfg)
        t0 = time.perf_counter()
        prompt = self._prompt_tokens(request.messages)
        decoder = self._decoder_for(n)
        stats = GenerationStats(prompt_tokens=len(prompt), prompt_tokens_evaluated=0)
        specs = sequence_specs(n, temperature=cfg.temperature, seed=cfg.seed, temperatures=request.temperatures,
                               variant=request.variant, spread=spread_temperature)
        texts: list[str | None] = [None] * n
        lengths = [0] * n
        decoded = 0
        todo = list(range(n))
        for round_ in range(REDRAWS + 1):
            for start in range(0, len(todo), decoder.capacity):
                group = todo[start:start + decoder.capacity]
                res = decoder.decode(prompt, [specs[i] for i in group], top_p=cfg.top_p,
                                     max_new_tokens=cfg.max_new_tokens, should_stop=lambda: cancelled(request),
                                     clock=time.perf_counter, ignore_eos=self.ignore_eos)
                stats.prompt_tokens_evaluated = (stats.prompt_tokens_evaluated or 0) + res.evaluated
                if res.first_done_at is not None and stats.first_candidate_s is None:
                    stats.first_candidate_s = res.first_done_at - t0
                for i, toks in zip(group, res.tokens):
                    decoded += len(toks)
                    if toks or not res.cancelled:
                        texts[i] = self.llm.detokenize(toks).decode("utf-8", errors="ignore")
                        lengths[i] = len(toks)
                if res.cancelled:
                    break
            if cancelled(request):
                break
            # each repeat again with a fresh seed, hotter too unless the request pinned its temperature
            seed = cfg.seed + request.variant * SEED_STRIDE + n * (round_ + 1)
            again = {i: spec for i in repeated(texts)
                     if (spec := redraw(specs[i], pinned=i < len(request.temperatures), seed=seed + i,
                                        step=TEMPERATURE_STEP, most=TEMPERATURE_MAX))}
            todo = list(again)
            if not todo or round_ == REDRAWS:
                break
            for i, spec in again.items():
                specs[i] = spec
        replies = [t for t in texts if t is not None]
        stats.candidates = len(replies)
        stats.seconds = time.perf_counter() - t0
        stats.completion_tokens = sum(k for k, t in zip(lengths, texts) if t is not None)  # of the replies returned
        stats.extra.update(parallel=True, tokens_decoded=decoded)  # decoded: re-drawn duplicates included
        self.last_stats = stats
        return replies

    def _generate_sequential(self, request: GenerationRequest) -> list[str]:
        cfg = self.config
        n = wanted(request, cfg)
        replies: list[str] = []
        stats = GenerationStats()
        t0 = time.perf_counter()
        extra: dict[str, Any] = {}
        if request.cancel is not None:
            extra["logits_processor"] = self._end_on(request.cancel)
        if self.ignore_eos:
            import llama_cpp

            extra["logit_bias"] = {t: float("-inf") for t in eog_tokens(llama_cpp.llama_model_get_vocab(self.llm.model))}
        specs = sequence_specs(n, temperature=cfg.temperature, seed=cfg.seed, temperatures=request.temperatures,
                               variant=request.variant)
        for spec in specs:  # llama.cpp decodes one sequence at a time
            if cancelled(request):
                break
            try:
                out = self.llm.create_chat_completion(
                    messages=request.messages, temperature=spec.temperature, top_p=cfg.top_p,
                    max_tokens=cfg.max_new_tokens, seed=spec.seed, **extra,
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


def spread_temperature(temperature: float, i: int) -> float:
    """Candidate i's temperature: the configured one for the first, then higher by a step each, so
    the candidates of one request differ even at temperature 0 (the first stays greedy)."""
    if i == 0:
        return temperature
    return min(TEMPERATURE_MAX, max(temperature, 0.0) + i * TEMPERATURE_STEP)


def repeated(texts: Sequence[str | None]) -> list[int]:
    """Indexes of replies equal (after stripping) to an earlier one."""
    seen: set[str] = set()
    out = []
    for i, t in enumerate(texts):
        if t is None:
            continue
        key = t.strip()
        if key in seen:
            out.append(i)
        seen.add(key)
    return out
