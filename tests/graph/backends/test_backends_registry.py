"""The backend registry: built-in and third-party backends are entry points in `fasterpy.backends`;
listing them imports no backend, and each backend declares the GenerationConfig fields it reads."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import available_backends, backend_options, describe_backend, get_backend
from harness.errors import FasterPyError

BUILTIN = ["llamacpp", "openai", "replay", "rules", "transformers"]

ECHO = '''
from graph.backends.base import GenerationStats


class EchoBackend:
    name = "echo"
    options = {"model": "ignored", "n": "always one reply"}

    def __init__(self, config):
        self.config = config
        self.last_stats = GenerationStats()

    def generate(self, request):
        return ["echo: " + request.messages[-1]["content"]]
'''


def test_builtin_backends_are_registered() -> None:
    assert set(BUILTIN) <= set(available_backends())


def test_a_third_party_backend_is_found_through_its_entry_point(plugin_dist) -> None:
    plugin_dist({"fasterpy.backends": {"echo": "fasterpy_echo_backend:EchoBackend"}},
                {"fasterpy_echo_backend": ECHO})
    assert "echo" in available_backends()
    assert "fasterpy_echo_backend" not in sys.modules  # listing imports nothing
    backend = get_backend(GenerationConfig(backend="echo"), reuse=False)
    assert backend.generate(GenerationRequest(messages=[{"role": "user", "content": "hi"}])) == ["echo: hi"]
    assert backend_options("echo") == {"model": "ignored", "n": "always one reply"}
    assert describe_backend("echo") == "echo reads:\nmodel: ignored\nn: always one reply"


def test_unknown_backend_lists_the_registered_ones() -> None:
    with pytest.raises(FasterPyError, match="unknown backend 'nope' — choose one of: .*openai.*rules"):
        get_backend(GenerationConfig(backend="nope"))


@pytest.mark.parametrize("name", BUILTIN)
def test_each_builtin_backend_declares_real_config_fields(name: str) -> None:
    options = backend_options(name)
    fields = {f.name for f in dataclasses.fields(GenerationConfig)}
    assert options and set(options) <= fields, set(options) - fields
    assert all(text.strip() for text in options.values())
    assert describe_backend(name).startswith(f"{name} reads:\n")


def test_backend_flag_help_lists_the_registry() -> None:
    from fasterpy_tui.options import OPTIONS

    help_text = OPTIONS["backend"][1].help
    assert all(name in help_text for name in available_backends())


def test_listing_names_imports_no_backend_or_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from graph.backends.registry import available_backends\n"
        "from kb.embedders import embedder_names\n"
        "from kb.builders.summarize import summarizer_names\n"
        "assert available_backends() and embedder_names() and summarizer_names()\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'llama_cpp', 'peft', 'httpx')\n"
        "          or (m.startswith('graph.backends.') and m not in ('graph.backends.base', 'graph.backends.registry'))]\n"
        "print(','.join(loaded))\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""
