# Two entry points, each creating .venv when missing:
#   make quickstart   install and run a small version of the whole study (5 sizes, 8k updates)
#   make test         install with [dev,minatar] and run the default (fast) test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
WORKDIR ?= runs/quickstart

.PHONY: install install-dev quickstart test test-slow clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/pip install -c $(CONSTRAINTS) -e .
	touch $@

# [minatar] (GPL-3.0, optional) so the MinAtar env tests run; dopamine-rl without
# its own requirements (full tensorflow, gym, pygame): its replay-buffer loader
# needs only gin-config, so the [dopamine] tests run too.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -c $(CONSTRAINTS) -e '.[dev,minatar]'
	$(BIN)/pip install -c $(CONSTRAINTS) --no-deps dopamine-rl gin-config
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

quickstart: install
	$(BIN)/python -m experiments.quickstart --workdir=$(WORKDIR)

test: install-dev
	$(BIN)/python -m pytest -q

test-slow: install-dev
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) runs
