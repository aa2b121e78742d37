#!/usr/bin/env bash
# Submit `gdo describe` as an N-task SLURM array (launch/describe_array.sbatch, one rank and
# one GPU per task) and `gdo describe merge` to run once every task has succeeded.
#
#   bash launch/describe_slurm.sh 64 model=qwen3vl_8b model.path=/models/Qwen3-VL-8B-Instruct pool=example_real
#
# Arguments after N are Hydra overrides, given to both. sbatch options for the array go in
# SBATCH_* variables (e.g. SBATCH_PARTITION=gpu, SBATCH_TIMELIMIT=12:00:00).
set -euo pipefail
n=${1:?usage: bash launch/describe_slurm.sh N_TASKS [hydra overrides...]}
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
array=$(sbatch --parsable --array="0-$((n - 1))" "$here/describe_array.sbatch" "$@")
array=${array%%;*} # --parsable prints "jobid[;cluster]"
# GDO: the command that runs gdo (default `gdo`; e.g. "python -m gdo").
# shellcheck disable=SC2086 # GDO may hold several words
merge=$(printf '%q ' ${GDO:-gdo} describe merge "$@")
job=$(sbatch --parsable --dependency="afterok:$array" --job-name=gdo-describe-merge \
  --ntasks=1 --cpus-per-task=8 --time=04:00:00 --output=%x-%j.out --wrap "$merge")
echo "describe: array job $array ($n ranks); merge job ${job%%;*} runs after it"
