"""The generation interface: what a backend is asked for and what it must answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol, runtime_checkable

DEFAULT_CASCADE = ["rules", "llamacpp"]  # the default generation: free rule rewrites, then the packaged model


@dataclass
class GenerationConfig:
    """How to generate. `backend` empty (or "auto") picks one from the other fields: a base URL
    means `openai`, a model means `llamacpp` for GGUF files / packaged names (when llama-cpp-python
    is installed) or `transformers`, and nothing at all means the `cascade`: the backends named in
    `cascade`, in order (rules first, then the packaged model; rules alone while it is not installed)."""

    backend: str = ""
    model: str | None = None
    adapter: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.2
    top_p: float = 0.95
    max_new_tokens: int = 1024
    n: int = 1
    timeout_s: float = 120.0
    seed: int = 42
    threads: int | None = None
    device: str | None = None  # transformers: "cpu", "cuda", "cuda:1"; None = CUDA when present
    context_tokens: int = 4096  # llama.cpp context window
    retries: int = 3  # openai: retries on 429/5xx before giving up
    max_concurrency: int = 8  # openai: most requests in flight to one server from this process (all rows)
    replay_column: str = "generated_answers"  # replay: the JSONL column holding candidates
    cascade: list[str] = field(default_factory=lambda: list(DEFAULT_CASCADE))  # cascade: its backends, in order

    def with_overrides(self, **overrides: Any) -> GenerationConfig:
        """A copy with the given fields replaced; None values mean "not given" and are ignored."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown generation option(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def cache_key(self) -> tuple[Any, ...]:
        return tuple(_hashable(getattr(self, f.name)) for f in fields(self))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass
class GenerationRequest:
    """One generation call. `messages` is the paper's system + user prompt (graph.prompt.build_messages);
    `code` and `suggestions` travel alongside for backends that work on the code itself (rules) and
    `key` (a problem id or row number) for replay."""

    messages: list[dict[str, str]]
    code: str = ""
    suggestions: Sequence[Any] = ()
    n: int | None = None  # None = the config's n
    feedback: Sequence[str] = ()
    key: str | None = None
    # A threading.Event: once set, a backend stops generating as soon as it can (the model backends
    # within a token or so; the openai backend stops waiting for the server) and returns what it has.
    cancel: Any = None
    # Diversity within an attempt: candidate i is sampled at temperatures[i] where a backend can
    # (empty = the config's temperature); `variant` numbers an attempt's differing requests (0 = the
    # first): a backend offsets its seed by it, and a cascade runs its free rules stage only for 0.
    temperatures: Sequence[float] = ()
    variant: int = 0
    # Which cascade stages answer: "all", "free" (only the stages that cost nothing: rules) or
    # "paid" (the rest). The pipeline verifies the free stage's candidates before it pays for a model.
    stages: str = "all"


def cancelled(request: GenerationRequest) -> bool:
    return request.cancel is not None and request.cancel.is_set()


@dataclass
class GenerationStats:
    """What the last `generate` call cost; the speed benchmark reads it."""

    candidates: int = 0
    completion_tokens: int = 0
    prompt_tokens: int = 0
    # prompt tokens actually run through the model (the rest came from a KV cache); None = not counted
    prompt_tokens_evaluated: int | None = None
    seconds: float = 0.0
    first_candidate_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """Anything that turns a request into raw reply texts (callers run graph.prompt.extract_code).

    A backend is registered as an entry point in the `fasterpy.backends` group (see
    graph.backends.registry) naming a class or function that takes a GenerationConfig. It may
    declare `options: ClassVar[dict[str, str]]`: the GenerationConfig fields it reads, each with
    what it means for this backend; the CLI and the TUI's settings screen show them."""

    name: str
    config: GenerationConfig
    last_stats: GenerationStats

    def generate(self, request: GenerationRequest) -> list[str]: ...


def wanted(request: GenerationRequest, config: GenerationConfig) -> int:
    """How many candidates this request asks for (at least one)."""
    return max(1, request.n if request.n is not None else config.n)
