"""Resolve a backend from a GenerationConfig. Backend modules are imported only when chosen, so
heavy libraries (torch, llama_cpp) load only for the backend that needs them."""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path

from graph.backends.base import Backend, GenerationConfig
from harness.errors import FasterPyError

BackendFactory = Callable[[GenerationConfig], Backend]

# name -> module that registers it on import; third parties can call register_backend directly.
_BUILTIN_MODULES = {
    "rules": "graph.backends.rules.backend",
    "transformers": "graph.backends.transformers_backend",
    "llamacpp": "graph.backends.llamacpp_backend",
    "openai": "graph.backends.openai_backend",
    "replay": "graph.backends.replay_backend",
}
_ALIASES = {"hf": "transformers", "llama.cpp": "llamacpp", "llama-cpp": "llamacpp", "offline": "rules"}

_factories: dict[str, BackendFactory] = {}
_instances: dict[tuple, Backend] = {}
_lock = threading.Lock()


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator: `@register_backend("mine")` on a class or function taking a GenerationConfig."""

    def deco(factory: BackendFactory) -> BackendFactory:
        _factories[name] = factory
        return factory

    return deco


def available_backends() -> list[str]:
    return sorted(set(_BUILTIN_MODULES) | set(_factories))


def _llamacpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def resolve_backend_name(config: GenerationConfig) -> str:
    """The backend a config means: explicit name, else inferred from model / base URL."""
    name = (config.backend or "auto").strip().lower()
    name = _ALIASES.get(name, name)
    if name != "auto":
        return name
    if config.base_url:
        return "openai"
    if not config.model:
        return "rules"
    from graph.backends.models import KNOWN_MODELS

    model = config.model
    if model.endswith(".jsonl"):
        return "replay"
    is_gguf = model.lower().endswith(".gguf") or model in KNOWN_MODELS
    if is_gguf and _llamacpp_installed() and not config.adapter:
        return "llamacpp"
    if Path(model).is_dir() or is_gguf or "/" in model:
        return "transformers"
    raise FasterPyError(
        f"cannot tell which backend runs model {model!r} — pass --backend "
        f"({', '.join(available_backends())}) or a path to a model directory or GGUF file"
    )


def get_backend(config: GenerationConfig | None = None, *, reuse: bool = True) -> Backend:
    """The backend for `config`. With `reuse`, an identical config returns the already-built
    backend, so a model is loaded once per process however many functions are optimized."""
    config = config or GenerationConfig()
    name = resolve_backend_name(config)
    key = (name, config.cache_key())
    with _lock:
        if reuse and key in _instances:
            return _instances[key]
        if name not in _factories:
            module = _BUILTIN_MODULES.get(name)
            if module is None:
                raise FasterPyError(
                    f"unknown backend {name!r} — choose one of: {', '.join(available_backends())}"
                )
            importlib.import_module(module)
        backend = _factories[name](config)
        if reuse:
            _instances[key] = backend
        return backend


def clear_backends() -> None:
    """Forget built backends (frees their models once nothing else holds them)."""
    with _lock:
        _instances.clear()
