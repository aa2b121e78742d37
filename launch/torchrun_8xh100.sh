#!/usr/bin/env bash
# Fine-tune on one 8xH100 node: the paper's protocol (training=h100: lr 2e-5, warmup 0.1,
# wd 0.01, clip 1.0, batch 1 per GPU, bf16, gradient checkpointing, ZeRO-3, 1 epoch).
#
#   bash launch/torchrun_8xh100.sh goal=temp_plus model=qwen3vl_8b model.path=/models/Qwen3-VL-8B-Instruct
#
# Extra arguments are Hydra overrides passed to `gdo train`. torchrun (not the deepspeed
# launcher, whose --local_rank argument breaks Hydra's parser) starts one rank per GPU;
# the DeepSpeed JSON is rendered from conf/training/deepspeed/zero3.yaml (= launch/ds_zero3.json).
set -euo pipefail
NPROC="${NPROC:-8}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-8}"
export TOKENIZERS_PARALLELISM=false
exec torchrun --standalone --nproc_per_node "${NPROC}" -m gdo train training=h100 "$@"
