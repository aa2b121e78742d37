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

.PHONY: help install lock floors demo test test-slow lint format bench $(BENCH_TARGETS) clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The torch release of the lock; TORCH_INDEX picks where pip gets it (default: pip's own
# configuration, which here finds the local CPU build). A CPU-only machine elsewhere:
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH ?= $(shell grep -m1 '^torch==' constraints.txt)
TORCH_INDEX ?=
# The exact tested versions (.ci/lock writes it); `make install LOCK=` resolves freely.
LOCK ?= constraints.txt

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, on its own: a bare `torch` from PyPI is a multi-GB CUDA build.
	$(BIN)/pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/pip install -q $(if $(LOCK),-c $(LOCK)) -e ".[dev,sweep,slurm,video]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install gdo (CPU torch) with dev tools

lock: $(STAMP)  ## rewrite constraints.txt from the working .venv
	.ci/lock $(VENV)

floors: ## install the lowest declared versions in a venv of their own, run the tests (slow)
	.ci/floors $(ARGS)

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

# Benchmarks: `make bench-<script>` runs experiments/benchmarks/<script>.py with
# BENCH_ARGS_<script> and `--out outputs/bench/results/<script>.md`; `make bench` runs all
# but gpu.py (CUDA only: `make bench-gpu`). The committed figures, with their commands,
# are the .md files next to the scripts.
BENCH_DIR := outputs/bench
# (modules starting with _ are helpers of the scripts, not benchmarks)
BENCH_SCRIPTS := $(filter-out _%,$(basename $(notdir $(wildcard experiments/benchmarks/*.py))))
BENCH_TARGETS := $(addprefix bench-,$(BENCH_SCRIPTS))
# What describe, train and evaluate run on: the small world, its pool and the tiny base
# model pre-trained on it, under experiment name "bench" (outputs/bench/).
BENCH_INPUTS := $(BENCH_DIR)/base_model/manifest.json
BENCH_ARGS_describe ?= --root . --name bench --world small
BENCH_ARGS_train ?= --world small --root $(BENCH_DIR)/train
BENCH_ARGS_evaluate ?= --world small --root $(BENCH_DIR)/evaluate
BENCH_ARGS_video_backends ?= --world outputs/world/small

bench: $(filter-out bench-gpu,$(BENCH_TARGETS))  ## run the CPU benchmarks (~30 min; results in outputs/bench/results)

$(BENCH_TARGETS): bench-%: $(STAMP)
	@mkdir -p $(BENCH_DIR)/results
	$(BIN)/python experiments/benchmarks/$*.py $(BENCH_ARGS_$*) --out $(BENCH_DIR)/results/$*.md

$(filter $(addprefix bench-,describe),$(BENCH_TARGETS)): $(BENCH_INPUTS)
# video_backends decodes the small world's clips only.
bench-video_backends: outputs/world/small/manifest.json

outputs/world/small/manifest.json: $(STAMP)
	$(BIN)/gdo world world=small logger=none

$(BENCH_INPUTS): $(STAMP)
	$(BIN)/gdo run world=small name=bench logger=none 'run.stages=[world,pool,pretrain]'

clean:  ## remove generated outputs (keeps .venv)
	rm -rf outputs wandb .pytest_cache
