# The two entry points of the README. Both create the virtual environment in
# .venv on first use (scripts/setup_env.sh) and reuse it afterwards.

VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: setup demo test clean-demo

setup:
	bash scripts/setup_env.sh

demo: setup
	$(PYTHON) -m ami.demo $(DEMO_ARGS)

test: setup
	$(PYTHON) -m pytest -q tests $(TEST_ARGS)

clean-demo:
	rm -rf work/demo
