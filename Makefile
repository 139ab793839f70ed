# Two entry points for a fresh machine with Python 3.11+ and make:
#   make run   - create .venv from the lock, install fieldcast, forecast the built-in scenario,
#                keep the run in the run store and write its report to report.html
#   make test  - the same environment, then lint and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench golden docs-figures lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("fieldcast needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/fieldcast forecast seed-2019
	$(BIN)/fieldcast report latest --out report.html

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/python -m pytest

# Speed and memory figures against their targets; writes bench.json (see docs/performance.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --out bench.json

# Rewrite the golden forecasts (tests/golden_forecasts) after an intended change to the numbers.
golden: $(STAMP)
	$(BIN)/python tests/golden.py

# Recompute the README's worked-example figures and put them in the README (docs/figures.py).
docs-figures: $(STAMP)
	$(BIN)/python docs/figures.py --write

# Regenerate requirements.lock after changing dependencies in pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml requirements-build.in --extra test --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
