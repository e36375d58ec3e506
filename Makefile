# cookiecutter-drf-fast: `make demo` to see a generated project run, `make test` to check the template.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# uv runs the template's own tooling. Without a uv that runs here, it is installed into .tools/ first.
UV ?= $(or $(shell uv --version >/dev/null 2>&1 && command -v uv),.tools/bin/uv)
RUN := $(UV) run --locked --no-sync
DEMO_DIR := .demo
DEMO_PROJECT := $(DEMO_DIR)/acme_api

.PHONY: help install demo test lint typecheck pytest lock clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		'{name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1)} \
		END {for (i = 1; i <= NR; i++) printf "  make %-" width "s  %s\n", name[i], text[i]}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet uv

install: | $(UV)  ## Install the template's tooling (cookiecutter, pytest, ruff, mypy) into .venv.
	$(UV) sync --locked

demo: install  ## Generate the default project into .demo/ and serve it on http://127.0.0.1:8000.
	rm -rf $(DEMO_DIR)
	$(RUN) cookiecutter . --no-input --output-dir $(DEMO_DIR)
	$(MAKE) -C $(DEMO_PROJECT) run UV=$(CURDIR)/.venv/bin/uv

test: lint typecheck pytest  ## Check the template: hooks, every option combination, the generated suites.

lint: install  ## Lint the template's own code.
	$(RUN) ruff check hooks tests
	$(RUN) ruff format --check hooks tests

typecheck: install  ## Type-check the template's tests.
	$(RUN) mypy

pytest: install  ## Bake, lint, type-check and test the generated projects (TEMPLATE_TESTS_* variables apply).
	$(RUN) pytest -v --durations=40

lock: install  ## Re-resolve the generated project's uv.lock for each tool combination.
	$(RUN) python -m tests.relock

clean:  ## Remove the tooling environment and the demo project.
	rm -rf .venv .tools $(DEMO_DIR) .mypy_cache .ruff_cache
