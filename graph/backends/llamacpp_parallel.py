"""Parallel decoding for the llamacpp backend: the n candidates of one request are decoded together
as parallel sequences of one llama.cpp context, in process (llama-cpp-python's low-level API), and
the shared prompt prefix stays in the KV cache across calls.

Layout of the context's (unified) KV cache:
- sequence 0 holds the last prompt minus its final token: the cached prefix. A new prompt keeps the
  cells of its longest common prefix with it and evaluates only the rest (a later attempt's prompt
  is the same system prompt + code + suggestions with feedback added, so only the feedback is new);
- sequences 1..k are the candidates. Each starts as a copy of sequence 0 (`llama_memory_seq_cp`:
  the cells are shared, not duplicated), gets the prompt's final token at the first step (so every
  step is one batch of one token per live sequence) and has its own sampler chain (temperature,
  top-p, seed; `sequence_specs` takes a request's per-candidate temperatures as given). A sequence
  ends on an end-of-generation token or max tokens; all end once the cancel event is set (checked
  before every step, so within a token).

Why in process rather than llama-server with parallel slots: no second process, port or HTTP to
supervise, the model is loaded once for the sequential path as well, and the prefix cache is ours
to count (`evaluated`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import FasterPyError


@dataclass
class SequenceSpec:
    """How one candidate is sampled: temperature 0 is greedy."""

    temperature: float
    seed: int


SEED_STRIDE = 1000  # request variant v samples with seeds config.seed + v * SEED_STRIDE + i


def sequence_specs(n: int, *, temperature: float, seed: int, temperatures: Sequence[float] = (), variant: int = 0,
                   spread: Callable[[float, int], float] | None = None) -> list[SequenceSpec]:
    """How each of a request's n candidates is sampled. Candidate i takes `temperatures[i]` when the
    request gives one (GenerationRequest.temperatures: the caller's choice for diversity, honoured
    as is); otherwise `spread(temperature, i)` (the backend's own spread), or `temperature` itself
    without one. Seeds are `seed + i`, offset by the request's variant, so the differing requests of
    one attempt do not sample alike."""
    specs = []
    for i in range(n):
        if i < len(temperatures):
            t = float(temperatures[i])
        else:
            t = spread(temperature, i) if spread is not None else temperature
        specs.append(SequenceSpec(max(0.0, t), seed + variant * SEED_STRIDE + i))
    return specs


@dataclass
class DecodeResult:
    tokens: list[list[int]]  # per sequence, end-of-generation token excluded
    evaluated: int = 0  # prompt tokens run through the model in this call (prefix + each sequence's last token)
    first_done_at: float | None = None  # the clock when the first sequence ended
    cancelled: bool = False
    finished: list[bool] = field(default_factory=list)


class ParallelDecoder:
    """One llama.cpp context with room for `capacity` parallel sequences plus the cached prefix."""

    def __init__(self, model: Any, *, capacity: int, context_tokens: int, max_new_tokens: int,
                 threads: int, batch_tokens: int = 512) -> None:
        import llama_cpp

        self._ll = llama_cpp
        self.capacity = max(1, min(capacity, llama_cpp.llama_max_parallel_sequences() - 1))
        self.context_tokens = context_tokens
        self.batch_tokens = max(batch_tokens, self.capacity)
        params = llama_cpp.llama_context_default_params()
        # the prefix is stored once; each sequence adds at most its last prompt token and its reply
        params.n_ctx = context_tokens + self.capacity * (max_new_tokens + 1)
        params.n_batch = params.n_ubatch = self.batch_tokens
        params.n_seq_max = self.capacity + 1
        params.kv_unified = True  # one cell pool: shared prefix cells are referenced by every sequence
        params.n_threads = params.n_threads_batch = threads
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        if not self.ctx:
            raise FasterPyError("llama.cpp could not create a parallel decoding context — lower --candidates or the context size")
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        self.batch = llama_cpp.llama_batch_init(self.batch_tokens, 0, self.capacity + 1)
        self.prefix: list[int] = []  # the tokens held by sequence 0

    def forget(self) -> None:
        """Drop every cached cell (the next prompt is evaluated in full)."""
        self._ll.llama_memory_clear(self.mem, True)
        self.prefix = []

    def close(self) -> None:
        if getattr(self, "ctx", None):
            self._ll.llama_batch_free(self.batch)
            self._ll.llama_free(self.ctx)
            self.ctx = None

    def __del__(self) -> None:
        self.close()

    def _add(self, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
        b = self.batch
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, int(logits)
        b.seq_id[i][0] = seq

    def _decode(self, n_tokens: int) -> None:
        self.batch.n_tokens = n_tokens
        rc = self._ll.llama_decode(self.ctx, self.batch)
        if rc != 0:
            raise FasterPyError(f"llama.cpp decode failed (code {rc}) — raise the context size or lower --candidates")

    def _extend_prefix(self, prompt: list[int]) -> int:
        """Make sequence 0 hold prompt[:-1], reusing the longest common prefix; return tokens evaluated."""
        want = prompt[:-1]
        keep = 0
        for a, b in zip(self.prefix, want):
            if a != b:
                break
            keep += 1
        self._ll.llama_memory_seq_rm(self.mem, 0, keep, -1)
        self.prefix = self.prefix[:keep]
        for start in range(keep, len(want), self.batch_tokens):
            chunk = want[start:start + self.batch_tokens]
            for i, tok in enumerate(chunk):
                self._add(i, tok, start + i, 0, False)
            self._decode(len(chunk))
            self.prefix.extend(chunk)
        return len(want) - keep

    def _sampler(self, spec: SequenceSpec, top_p: float, bias: Sequence[int]) -> Any:
        ll = self._ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if bias:
            arr = (ll.llama_logit_bias * len(bias))(*[ll.llama_logit_bias(t, float("-inf")) for t in bias])
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_logit_bias(ll.llama_vocab_n_tokens(self.vocab), len(bias), arr))
        if spec.temperature <= 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
        else:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(top_p, 1))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(spec.temperature))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(spec.seed & 0xFFFFFFFF))
        return chain

    def decode(self, prompt: list[int], specs: Sequence[SequenceSpec], *, top_p: float, max_new_tokens: int,
               should_stop: Callable[[], bool], clock: Callable[[], float], ignore_eos: bool = False) -> DecodeResult:
        """Decode len(specs) <= capacity sequences after `prompt`; `should_stop` is the cancel check."""
        ll = self._ll
        k = len(specs)
        if len(prompt) >= self.context_tokens:
            raise FasterPyError(f"llama.cpp: the prompt has {len(prompt)} tokens, the context window {self.context_tokens}"
                                " — raise the context size or shorten the input")
        max_new = min(max_new_tokens, self.context_tokens - len(prompt))
        result = DecodeResult(tokens=[[] for _ in specs], finished=[False] * k)
        if should_stop():
            result.cancelled = True
            return result
        result.evaluated = self._extend_prefix(prompt)
        for s in range(1, self.capacity + 1):
            ll.llama_memory_seq_rm(self.mem, s, -1, -1)
        for s in range(1, k + 1):
            ll.llama_memory_seq_cp(self.mem, 0, s, -1, -1)
        bias = eog_tokens(self.vocab) if ignore_eos else []
        samplers = [self._sampler(spec, top_p, bias) for spec in specs]
        try:
            live = list(range(k))
            last = [prompt[-1]] * k  # the token each sequence feeds next
            pos = len(prompt) - 1
            result.evaluated += k
            while live:
                if should_stop():
                    result.cancelled = True
                    break
                for i, s in enumerate(live):
                    self._add(i, last[s], pos, s + 1, True)
                self._decode(len(live))
                still = []
                for i, s in enumerate(live):
                    tok = ll.llama_sampler_sample(samplers[s], self.ctx, i)
                    if not ignore_eos and ll.llama_vocab_is_eog(self.vocab, tok):
                        result.finished[s] = True
                    else:
                        result.tokens[s].append(tok)
                        last[s] = tok
                        if len(result.tokens[s]) >= max_new:
                            result.finished[s] = True
                        else:
                            still.append(s)
                    if result.finished[s] and result.first_done_at is None:
                        result.first_done_at = clock()
                live = still
                pos += 1
        finally:
            for smpl in samplers:
                ll.llama_sampler_free(smpl)
        return result


def redraw(spec: SequenceSpec, *, pinned: bool, seed: int, step: float, most: float) -> SequenceSpec | None:
    """How a reply equal to an earlier one is drawn again: with `seed`, and hotter by `step` (up to
    `most`) unless the request pinned its temperature; None for a pinned greedy sequence (the same
    text would come back)."""
    if pinned:
        return SequenceSpec(spec.temperature, seed) if spec.temperature > 0 else None
    return SequenceSpec(min(most, max(spec.temperature, 0.2) + step), seed)


def eog_tokens(vocab: Any) -> list[int]:
    """Every end-of-generation token of a vocabulary (masked when EOS is ignored)."""
    import llama_cpp

    return [t for t in range(llama_cpp.llama_vocab_n_tokens(vocab)) if llama_cpp.llama_vocab_is_eog(vocab, t)]
