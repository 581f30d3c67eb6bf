# The two commands (see README): `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint bench self-test clean sysdeps

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@ $(STAMP)

# Qt needs a few system libraries (EGL, xkbcommon, fontconfig, fonts) that a bare machine may lack.
sysdeps: $(STAMP)
	@bash packaging/ensure-system-libs.sh $(PY)

run: $(STAMP) sysdeps
	$(PY) -m app

test: $(DEV_STAMP) sysdeps
	@mkdir -p .xdg-runtime && chmod 700 .xdg-runtime
	QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$(CURDIR)/.xdg-runtime $(PY) -m ruff check app tests bench
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$(CURDIR)/.xdg-runtime $(PY) -m pytest

lint: $(DEV_STAMP)
	$(PY) -m ruff check app tests bench
	$(PY) -m ruff format --check app tests bench
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: $(DEV_STAMP)
	$(PY) bench/run_all.py

self-test: $(STAMP)
	$(PY) -m app --self-test

clean:
	rm -rf $(VENV) build dist .xdg-runtime tests/_artifacts
