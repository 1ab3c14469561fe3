# Two commands: `make run` and `make test`. Both set up .venv first (once; again
# when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test test-all lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU build, pinned: a plain `torch` would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# the default QAS benchmark: H2 (STO-3G, 0.735 A, 4 qubits), four agents, three seeds,
# cells on both cores; finished cells are kept in runs/qas-bench-h2, so a rerun prints
# the table at once
run: setup
	$(VENV)/bin/qwb qas bench --tasks h2 --agents random,dqn,crlqas,kanqas --seeds 3 \
		--episodes 300 --workers 2 --out runs/qas-bench-h2

test: setup
	$(PY) -m pytest -m "not slow and not gpu" $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
