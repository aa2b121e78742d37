# gdo: `make help` lists the targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export WANDB_MODE ?= offline
export WANDB_SILENT := true
export TOKENIZERS_PARALLELISM := false
export PYTHONUNBUFFERED := 1

.PHONY: help install demo test test-slow lint format bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The local CPU build; a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,sweep]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install gdo (CPU torch) with dev tools

demo: $(STAMP)  ## run the main job on the embedded synthetic world (CPU)
	$(BIN)/gdo run experiment=demo $(ARGS)

test: $(STAMP)  ## run the default (fast) test suite
	WANDB_MODE=disabled $(BIN)/pytest -q $(ARGS)

test-slow: $(STAMP)  ## run only the slow tests (multi-rank training, sweeps)
	WANDB_MODE=disabled $(BIN)/pytest -q -m slow $(ARGS)

lint: $(STAMP)  ## ruff check + ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)  ## run the benchmarks in experiments/benchmarks (minutes)
	for f in experiments/benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:  ## remove generated outputs (keeps .venv)
	rm -rf outputs wandb .pytest_cache
