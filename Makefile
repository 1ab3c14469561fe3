# Two commands: `make run` and `make test`. Both set up .venv first (once; again
# when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test test-all lint clean gpu-check

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# pinned (see README: which build it resolves to); a plain `torch` could pull a newer,
	# multi-GB CUDA build
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

# the default run: no slow or GPU tests (about 6 minutes of pytest on 2 cores); the 15
# slowest tests are listed at the end so that they stay visible
test: setup
	$(PY) -m pytest -m "not slow and not gpu" --durations=15 $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# the GPU tests and GPU benchmark in one call (at most 8 minutes; results in
# runs/gpu-check/); without CUDA it says so and exits 0. Runs with the Python that has
# CuPy: the venv's when there is one, else python3 (the GPU image's)
gpu-check:
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) benchmarks/gpu_check.py --out runs/gpu-check

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
