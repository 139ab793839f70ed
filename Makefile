# Two entry points for a fresh machine with Python 3.11+ and make:
#   make run   - create .venv from the lock, install fieldcast, forecast the built-in scenario,
#                keep the run in the run store and write its report to report.html
#   make test  - the same environment, then lint and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test chromium screenshots bench profile golden docs-figures lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("fieldcast needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/fieldcast forecast seed-2019
	$(BIN)/fieldcast report latest --out report.html

# Test processes in parallel (pytest-xdist): as many as the 2-core machine the suite is sized for.
TEST_WORKERS ?= 2

test: $(STAMP) chromium
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# The browser tests drive Debian's chromium package (Playwright's own browser download needs
# the network): installed here when missing, with apt-get (as root, or through sudo).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests (apt-get)"; \
	  command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install Chromium and set FIELDCAST_CHROMIUM to it" >&2; exit 1; }; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The dashboard's pages, photographed by the browser tests, into docs/screenshots (README).
screenshots: $(STAMP) chromium
	FIELDCAST_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/test_browser.py

# Speed and memory figures against their targets; writes bench.json (see docs/performance.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --out bench.json

# Where the kernel's time goes, by step of the day and by draw (docs/performance.md).
profile: $(STAMP)
	$(BIN)/python benchmarks/kernel_profile.py

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
