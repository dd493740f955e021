"""The generation flags as a reusable typer decorator, for any `fasterpy` command that generates
(`optimize`, `batch`, ...):

    @app.command()
    @generation_options
    def optimize(path: Path, generation: GenerationConfig) -> None: ...

The wrapped command gets the flags added to its signature and receives a GenerationConfig built
from them as `generation`, or, if it declares `generation_overrides: dict` instead, only the flags
the user actually gave (so a config file can supply the rest: `cfg.with_overrides(**overrides)`)."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from graph.backends.base import GenerationConfig
from graph.backends.registry import available_backends

F = TypeVar("F", bound=Callable[..., Any])
PANEL = "Generation"

# name -> (type, typer.Option); defaults are None = "not given"
OPTIONS: dict[str, tuple[Any, Any]] = {
    "backend": (str | None, typer.Option("--backend", help=f"One of: {', '.join(available_backends())} (empty: chosen from --model / --base-url; rules, offline, without either).", rich_help_panel=PANEL)),
    "model": (str | None, typer.Option("--model", help="Model dir, GGUF file, hub id, packaged name (see `fasterpy models`), server model name, or replay JSONL.", rich_help_panel=PANEL)),
    "adapter": (str | None, typer.Option("--adapter", help="LoRA adapter: a peft directory (any model backend; llama.cpp converts it to a GGUF LoRA once) or a GGUF LoRA file (llamacpp).", rich_help_panel=PANEL)),
    "base_url": (str | None, typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.", rich_help_panel=PANEL)),
    "api_key_env": (str | None, typer.Option("--api-key-env", help="Environment variable holding the API key (default OPENAI_API_KEY).", rich_help_panel=PANEL)),
    "temperature": (float | None, typer.Option("--temperature", min=0.0, help="Sampling temperature; 0 = greedy (default 0.2).", rich_help_panel=PANEL)),
    "top_p": (float | None, typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus sampling mass (default 0.95).", rich_help_panel=PANEL)),
    "max_new_tokens": (int | None, typer.Option("--max-new-tokens", min=1, help="Most tokens per reply (default 1024).", rich_help_panel=PANEL)),
    "n": (int | None, typer.Option("--candidates", "-n", min=1, help="Candidates per generation round (default 1).", rich_help_panel=PANEL)),
    "timeout_s": (float | None, typer.Option("--timeout", min=0.1, help="Seconds to wait for one server reply (default 120).", rich_help_panel=PANEL)),
    "threads": (int | None, typer.Option("--threads", min=1, help="CPU threads for llama.cpp/torch (default all cores).", rich_help_panel=PANEL)),
    "device": (str | None, typer.Option("--device", help="transformers device: cpu, cuda (default cuda when available).", rich_help_panel=PANEL)),
}


# search flags shared by the commands that run the pipeline (`optimize`, `tui`)
BUDGET_OPT: Any = typer.Option(None, "--budget", min=0.001, metavar="SECONDS",
                               help="Search time per target (default 180).")


def overrides_from(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in OPTIONS and v is not None}


def generation_options(func: F) -> F:
    sig = inspect.signature(func)
    wants_overrides = "generation_overrides" in sig.parameters
    target = "generation_overrides" if wants_overrides else "generation"
    if target not in sig.parameters:
        raise TypeError(f"{func.__name__} must take a `generation` or `generation_overrides` parameter")
    clash = set(OPTIONS) & set(sig.parameters)
    if clash:
        raise TypeError(f"{func.__name__} already has parameters named {sorted(clash)}")
    params = [p for name, p in sig.parameters.items() if name != target]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[typ, opt])
        for name, (typ, opt) in OPTIONS.items()
    ]
    # keyword-only params must follow the others; typer only cares about names and annotations
    positional = [p for p in params if p.kind != inspect.Parameter.KEYWORD_ONLY]
    kwonly = [p for p in params if p.kind == inspect.Parameter.KEYWORD_ONLY]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = overrides_from({k: kwargs.pop(k, None) for k in OPTIONS})
        kwargs[target] = given if wants_overrides else GenerationConfig().with_overrides(**given)
        return func(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[*positional, *kwonly, *extra])  # type: ignore[attr-defined]
    # resolve string annotations (from __future__ import annotations) in the command's own module,
    # since typer evaluates them against the wrapper's globals
    resolved = typing.get_type_hints(func, include_extras=True)
    params = [p.replace(annotation=resolved.get(p.name, p.annotation)) for p in params]
    annotations = {k: v for k, v in resolved.items() if k != target}
    annotations.update({p.name: p.annotation for p in extra})
    wrapper.__annotations__ = annotations
    del wrapper.__wrapped__  # typer must see the new signature, not the original's
    return wrapper  # type: ignore[return-value]
