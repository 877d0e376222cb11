# The two set-up commands of the README are `make dev` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test lint unit e2e controlplane bench bench-vcluster faults clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

controlplane: $(STAMP)
	$(PY) -m syncer.localcluster build

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint controlplane
	$(VENV)/bin/pytest

unit: $(STAMP)
	$(VENV)/bin/pytest -m 'not e2e'

dev: $(STAMP) controlplane
	$(VENV)/bin/vsyncer dev

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# The benchmarks, with vcluster's syncer as the P7 baseline (built once, cached; not part of `test`).
bench: $(BENCH_STAMP) controlplane
	$(PY) -m benchmarks --json benchmarks/results.json --results benchmarks/RESULTS.md --plots benchmarks

# Only P7: vsyncer against vcluster's syncer on the same burst (prints the table, writes nothing).
bench-vcluster: $(BENCH_STAMP) controlplane
	$(PY) -m benchmarks --only P7

# The full fault matrix (tests/faults): prints its table and writes tests/faults/RESULTS.md.
faults: $(STAMP) controlplane
	FAULTS_FULL=1 $(VENV)/bin/pytest -m faults tests/faults

clean:
	rm -rf $(VENV) .dev .pytest_cache .mypy_cache .ruff_cache
