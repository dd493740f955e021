"""Resolve a backend from a GenerationConfig. Backends are entry points in the `fasterpy.backends`
group (harness.plugins): the built-in ones are declared in fasterpy's pyproject.toml, and any
installed package can add one the same way. A backend's module is imported only when it is chosen,
so heavy libraries (torch, llama_cpp) load only for the backend that needs them."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path

from graph.backends.base import Backend, GenerationConfig
from harness.errors import FasterPyError
from harness.plugins import load_plugin, plugin_names

BACKENDS_GROUP = "fasterpy.backends"

BackendFactory = Callable[[GenerationConfig], Backend]

_ALIASES = {"hf": "transformers", "llama.cpp": "llamacpp", "llama-cpp": "llamacpp", "offline": "rules"}

_instances: dict[tuple, Backend] = {}
_lock = threading.RLock()  # re-entrant: the cascade builds its stages through get_backend


def available_backends() -> list[str]:
    """The registered backend names, sorted; imports no backend."""
    return plugin_names(BACKENDS_GROUP)


def backend_factory(name: str) -> BackendFactory:
    """The class or function registered as backend `name` (imports its module, not its model)."""
    return load_plugin(BACKENDS_GROUP, _ALIASES.get(name, name), kind="backend")


def backend_options(name: str) -> dict[str, str]:
    """The GenerationConfig fields backend `name` reads, each with what it means for it."""
    return dict(getattr(backend_factory(name), "options", {}))


def describe_backend(name: str) -> str:
    """What backend `name` reads, one `field: meaning` line each, for help texts and tooltips; a
    backend that cannot be loaded is described by its one-line error."""
    if name.strip().lower() in ("", "auto"):
        return "auto: the backend is chosen from the model and base URL (neither: the cascade of rules and the packaged model)"
    try:
        options = backend_options(name)
    except FasterPyError as exc:
        return str(exc)
    lines = [f"{field}: {meaning}" for field, meaning in options.items()]
    return "\n".join([f"{name} reads:", *lines]) if lines else f"{name} reads no generation settings"


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
        return "cascade"  # rules, then the packaged model (rules alone while it is not installed)
    from graph.backends.models import KNOWN_MODELS

    model = config.model
    if model.endswith(".jsonl"):
        return "replay"
    is_gguf = model.lower().endswith(".gguf") or model in KNOWN_MODELS
    if is_gguf and _llamacpp_installed():
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
        backend = backend_factory(name)(config)
        if reuse:
            _instances[key] = backend
        return backend


def clear_backends() -> None:
    """Forget built backends (frees their models once nothing else holds them)."""
    with _lock:
        _instances.clear()
