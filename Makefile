# The two commands: `make demo` and `make test`. Both build .venv from uv.lock first.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
export UV_PYTHON_DOWNLOADS := never
VENV_STAMP := .venv/.synced

.PHONY: demo test lint typecheck unit bench lock serve clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV_STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --locked --python $(PYTHON)
	touch $@

demo: $(VENV_STAMP)
	.venv/bin/kruispunt demo

test: lint typecheck unit

lint: $(VENV_STAMP)
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench

typecheck: $(VENV_STAMP)
	.venv/bin/mypy

# Two workers: the machines have two cores; each worker starts its own throwaway PostgreSQL cluster.
unit: $(VENV_STAMP)
	.venv/bin/pytest -n 2 --dist loadfile

# Benchmarks need the `bench` dependency group (OpenFisca-core for the rights comparison).
bench: $(UV)
	$(UV) sync --locked --group bench --python $(PYTHON)
	.venv/bin/python -m bench.run_all

serve: $(VENV_STAMP)
	.venv/bin/kruispunt serve

lock: $(UV)
	$(UV) lock

clean:
	rm -rf .venv .tools .kruispunt .pytest_cache .mypy_cache .ruff_cache
