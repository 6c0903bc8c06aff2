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

.PHONY: run test install bench bench-predict viz clean-data

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kedro run $(ARGS)

# Two workers, one test file each at a time (--dist loadfile keeps a module's fixtures, e.g. the
# demo run of tests/test_project.py, on one worker): the demo run's worker waits on I/O and
# encoding about half the time, so the rest of the suite runs beside it.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/sampler.py $(ARGS)

bench-predict: $(STAMP)
	$(BIN)/python bench/predict.py $(ARGS)

viz: $(STAMP)
	$(BIN)/kedro viz run --no-browser --host 127.0.0.1 --port 4141
