# Two entry points (see README.md):  `make study`  and  `make test` (ruff, mypy, pytest).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= study
# Full MNIST: $MNISTGEN_DATA_DIR if set, else the workplace copy beside this checkout if present,
# else mnistgen's own look-up (cache, download, offline fall-back).
DATA_DIR ?= $(or $(MNISTGEN_DATA_DIR),$(wildcard $(abspath ../shared/data)))
DATA_ARG  = $(if $(DATA_DIR),--data-dir $(DATA_DIR))
STUDY_ARGS ?=

.PHONY: setup study test browser clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[test,tensorboard]"
	touch $@

study: setup
	$(BIN)/mnistgen run --out $(OUT) $(DATA_ARG) $(if $(wildcard $(OUT)/study.json),--resume) $(STUDY_ARGS)

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Headless Chromium for the report test (Debian packages; best effort: the test skips without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1; } || \
	  echo "note: chromium unavailable; the report's browser test will be skipped"

clean:
	rm -rf $(VENV) build *.egg-info
