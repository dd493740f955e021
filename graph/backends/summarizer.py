"""The `llm` summarizer (entry point in `fasterpy.summarizers`): kb's LLMSummarizer answered by a
generation backend. kb knows only a `generate(messages) -> str` callable; this adapter lives in
graph, which owns the backends."""

from __future__ import annotations

from collections.abc import Callable

from graph.backends.base import Backend, GenerationConfig, GenerationRequest
from harness.errors import FasterPyError
from kb.builders.summarize import LLMSummarizer, Messages, Summarizer, get_summarizer


def backend_generate(backend: Backend) -> Callable[[Messages], str]:
    """`generate(messages)`: the backend's first reply to one request for a single candidate."""

    def generate(messages: Messages) -> str:
        replies = backend.generate(GenerationRequest(messages=messages, n=1))
        return replies[0] if replies else ""

    return generate


def llm_summarizer(backend: Backend | None = None) -> LLMSummarizer:
    if backend is None:
        raise FasterPyError(
            "the llm summarizer needs a generation backend — pass --backend/--model, or use --summarizer offline"
        )
    return LLMSummarizer(backend_generate(backend))


def choose_summarizer(name: str, *, backend: str | None = None, model: str | None = None,
                      base_url: str | None = None) -> Summarizer:
    """The summarizer `kb build --summarizer NAME` uses: the one registered as `name`; for `llm`,
    on the generation backend that `backend`/`model`/`base_url` select."""
    if name != "llm":
        return get_summarizer(name)
    if not (backend or model or base_url):
        raise FasterPyError("--summarizer llm needs a model — pass --model (e.g. qwen2.5-coder-1.5b) or "
                            "--base-url of an OpenAI-compatible server, or use --summarizer offline")
    from graph.backends.registry import get_backend

    config = GenerationConfig(backend=backend or "", model=model or None, base_url=base_url or None)
    return get_summarizer("llm", get_backend(config))
