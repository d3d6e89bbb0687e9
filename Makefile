# The commands a person types. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# python3.13: from PATH, else pyenv's real path (its shim may not resolve), else fail clearly.
PYTHON313 ?= $(shell command -v python3.13 >/dev/null 2>&1 && python3.13 -c 'import sys' 2>/dev/null \
	&& command -v python3.13 || ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1)
VENV := .venv
PY := $(VENV)/bin/python
export SLS_TELEMETRY_DISABLED := 1
export SLS_NOTIFICATIONS_MODE := off
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONPATH := $(CURDIR)/src

.PHONY: help setup test demo bench lint layers clean system-deps

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/dev.txt requirements/function.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (PATH or pyenv); install it first" >&2; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements/dev.txt tox==4.67.16
	touch $@

node_modules/.installed: package.json package-lock.json .npmrc
	npm ci --no-audit --no-fund
	touch $@

system-deps:  ## apt packages for the arm64 emulated import and cross-strip (needs root)
	@command -v qemu-aarch64-static >/dev/null && command -v aarch64-linux-gnu-strip >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static binutils-aarch64-linux-gnu; }

setup: $(VENV)/.installed node_modules/.installed system-deps  ## install everything (venv, npm ci, apt)

test: setup  ## lint, types, unit, integration, layers, packaging and end-to-end tests (tox)
	$(VENV)/bin/tox run

demo: setup  ## run the local stack on the 400k GloVe vectors: import, reindex, search, recall
	./build_layers.sh --arch x86_64 faiss pydantic  # serverless-offline puts these on PYTHONPATH
	$(PY) -m devstack.demo

bench: setup  ## benchmarks (BENCH_ARGS=--quick for the short run); results in bench/results/
	$(PY) -m bench $(BENCH_ARGS)

lint: $(VENV)/.installed  ## ruff and mypy only
	$(VENV)/bin/tox run -e lint,type

layers: $(VENV)/.installed system-deps  ## build and verify the arm64 layers
	./build_layers.sh

clean:  ## remove build outputs, caches and virtualenvs
	./build_layers.sh --clean || true
	rm -rf $(VENV) .tox node_modules build
