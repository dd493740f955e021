"""The `llamacpp` backend: any GGUF file (or packaged model name) through llama-cpp-python on CPU,
with the chat template stored in the GGUF.

Decoding is parallel and in process (not llama-server with parallel slots): the n candidates of a
request are decoded together as parallel sequences of one llama.cpp context, and the prompt
prefix (system prompt + code + suggestions) stays in its KV cache, so a target's prefix is
evaluated once across its candidates and attempts (graph.backends.llamacpp_parallel). Each
sequence samples with its own seed and temperature, spread upward from the configured one, and a
reply identical to another is drawn again, so n candidates differ when the model allows.
`parallel=False` keeps the earlier sequential decoding (one `create_chat_completion` per candidate)
for the speed benchmark."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, cancelled, wanted
from graph.backends.llamacpp_parallel import ParallelDecoder, SequenceSpec, eog_tokens
from harness.errors import FasterPyError

TEMPERATURE_STEP = 0.25  # candidate i samples at temperature + i * step (candidate 0 at the configured one)
TEMPERATURE_MAX = 1.2
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
        "threads": "llama.cpp CPU threads (default all cores)",
        "context_tokens": "context window in tokens",
        "temperature": "sampling temperature; 0 = greedy",
        "top_p": "nucleus sampling mass",
        "max_new_tokens": "most tokens per reply",
        "n": "candidates per round",
        "seed": "sampling seed (candidate i uses seed + i)",
    }

    def __init__(self, config: GenerationConfig, *, parallel: bool = True, ignore_eos: bool = False) -> None:
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
        self.parallel = parallel
        self.ignore_eos = ignore_eos  # the speed benchmark: every reply runs to max_new_tokens
        self.last_stats = GenerationStats()
        self._decoder: ParallelDecoder | None = None
        self.threads = threads = config.threads or max(1, os.cpu_count() or 1)
        t0 = time.perf_counter()
        try:
            self.llm = Llama(
                model_path=str(path), n_ctx=config.context_tokens, n_threads=threads,
                n_threads_batch=threads, seed=config.seed, verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise FasterPyError(f"llama.cpp could not load {path.name}: {exc} — is it a valid GGUF file?") from exc
        if parallel:
            self._decoder_for(config.n)
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
        return self._decoder

    def _generate_parallel(self, request: GenerationRequest) -> list[str]:
        cfg = self.config
        n = wanted(request, cfg)
        t0 = time.perf_counter()
        prompt = self._prompt_tokens(request.messages)
        decoder = self._decoder_for(n)
        stats = GenerationStats(prompt_tokens=len(prompt), prompt_tokens_evaluated=0)
        specs = [SequenceSpec(spread_temperature(cfg.temperature, i), cfg.seed + i) for i in range(n)]
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
            todo = repeated(texts)
            if not todo or round_ == REDRAWS:
                break
            for i in todo:  # a hotter draw with a fresh seed
                specs[i] = SequenceSpec(min(TEMPERATURE_MAX, max(specs[i].temperature, 0.2) + TEMPERATURE_STEP),
                                        cfg.seed + n * (round_ + 1) + i)
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
