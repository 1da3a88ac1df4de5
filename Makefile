# Tollgate: `make run` sets up and starts the gateway; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup run test bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) server.py

test: setup
	bash tools/test-deps.sh
	$(PY) -m pytest

bench: setup
	bash bench/setup.sh
	$(PY) -m bench.run

clean:
	rm -rf $(VENV)
