#!/usr/bin/env bash
# The custom-goal experiment at a CPU-affordable scale (what experiments/custom_goal/README.md
# reports): the world at ~1/4 of the default pool, smaller standard suites, the 200-question
# custom set, target_custom vs Temp+ vs Uni-10x (capped at the pool). Everything under $ROOT.
#   bash experiments/custom_goal/run_mid.sh /tmp/cg_mid
set -euo pipefail
ROOT=${1:-/tmp/cg_mid}
export GDO_PROGRESS=0 WANDB_MODE=disabled HF_HUB_OFFLINE=1
COMMON=(
  experiment=custom_goal logger=none "paths.root_dir=$ROOT" name=custom_goal_mid
  world.name=custom_mid
  # the default world's sources at ~1/4 of their clips (image x2, short x3, long x2)
  world.sources.0.clips=400 world.sources.1.clips=275 world.sources.2.clips=250
  world.sources.3.clips=200 world.sources.4.clips=140 world.sources.5.clips=140
  world.sources.6.clips=140 world.sources.7.clips=110
  world.benchmarks.mvbench_per_subtask=20 world.benchmarks.videomme_videos=30
  world.benchmarks.mlvu=80 world.benchmarks.lvbench_videos=20
  goal.max_ratio=0.08 training.checkpoint.every_fraction=0.5
)
# 1. world, pool, base model, descriptors (the demo's shared stages, here in one folder)
python -m gdo run "${COMMON[@]}" 'run.share_from=null' 'run.share_baseline=[]' \
  'run.stages=[world,pool,pretrain,describe]'
# 2. the custom set (held out by seed) under <world_dir>/custom/appearance_order/
gdo world custom "${COMMON[@]}"
# 3. score, select (target_custom, temp_plus, then uniform), train, evaluate, frontier
python -m gdo run "${COMMON[@]}" 'run.share_from=null' 'run.share_baseline=[]' \
  'run.stages=[score,select,train,evaluate,frontier]'
python experiments/custom_goal/compare.py "$ROOT/outputs/custom_goal_mid"
