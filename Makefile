# Two entry points (see README.md):  `make study`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= study
# Full MNIST: $MNISTGEN_DATA_DIR if set, else the workplace copy beside this checkout if present,
# else mnistgen's own look-up (cache, download, offline fall-back).
DATA_DIR ?= $(or $(MNISTGEN_DATA_DIR),$(wildcard $(abspath ../shared/data)))
DATA_ARG  = $(if $(DATA_DIR),--data-dir $(DATA_DIR))
STUDY_ARGS ?=

.PHONY: setup study test clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[test,tensorboard]"
	touch $@

study: setup
	$(BIN)/mnistgen run --out $(OUT) $(DATA_ARG) $(if $(wildcard $(OUT)/study.json),--resume) $(STUDY_ARGS)

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
