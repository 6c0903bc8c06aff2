# Two entry points for a fresh machine (Python 3.11 is all it needs):
#   make run   — create .venv if missing, install, run the pipelines on the demo corpus
#   make test  — same set-up, then the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1

.PHONY: run test install bench bench-predict viz clean-data browser dashboard dashboard-check

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kedro run $(ARGS)

# Two workers, one test file each at a time (--dist loadfile keeps a module's fixtures on one
# worker; the one demo run of a session is shared by both through a file lock, tests/conftest.py):
# the demo run's worker waits on I/O and encoding about half the time, so the rest of the suite
# runs beside it.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile $(ARGS)

# Headless Chromium + chromedriver for the dashboard's browser test (Debian packages; nothing is
# downloaded by Selenium). Installed only when missing and running as root; one line otherwise.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		echo "browser: $$(chromium --version 2>/dev/null | head -n1) and chromedriver present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "browser: chromium/chromedriver missing (as root: apt-get install chromium chromium-driver); the browser test will skip"; \
	fi

# The results dashboard of this project (http://127.0.0.1:8501; ARGS="--port 8502" etc.)
dashboard: $(STAMP)
	$(BIN)/aura dashboard $(ARGS)

# The dashboard test's browser check against this project's own run (screenshots in
# data/08_reporting/dashboard_check/)
dashboard-check: $(STAMP) browser
	$(BIN)/python -m aura.dashboard.check $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/sampler.py $(ARGS)

bench-predict: $(STAMP)
	$(BIN)/python bench/predict.py $(ARGS)

viz: $(STAMP)
	$(BIN)/kedro viz run --no-browser --host 127.0.0.1 --port 4141
