"""Where each stage's artifacts live, so every stage and ``gdo run`` agree.

Layout under ``paths.work_dir`` (``outputs/<name>/``)::

    pool/pool.parquet                 + manifest.json
    base_model/                       (tiny world base model; real runs use model.path)
    descriptors/shard-*.jsonl, descriptors.parquet + manifest.json
    scores/scores.parquet             + manifest.json
    subsets/<goal>/train.json, train.jsonl, report.md, manifest.json
    train/<goal>/checkpoints/ckpt-<samples>/   (+ trainer_state, manifest.json)
    eval/<goal>/ckpt-<samples>/<benchmark>.jsonl
    frontier/frontier.parquet, plots/*.png, report.md
The world lives in ``paths.world_dir`` (shared between experiments).
"""

from __future__ import annotations

from pathlib import Path


def work_dir(cfg) -> Path:
    return Path(cfg.paths.work_dir).expanduser().resolve()


def world_dir(cfg) -> Path:
    return Path(cfg.paths.world_dir).expanduser().resolve()


def stage_dir(cfg, stage: str, *sub: str) -> Path:
    """``work_dir/<stage>/<sub...>``, created."""
    d = work_dir(cfg).joinpath(stage, *sub)
    d.mkdir(parents=True, exist_ok=True)
    return d
