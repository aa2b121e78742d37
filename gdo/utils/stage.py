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


def base_model_path(cfg, override: str | None = None, *, required: bool = True) -> str | None:
    """The model a stage starts from: ``override`` (the stage's own key:
    ``descriptors.model_path``, ``training.init_from``, ``eval.base_path``), else
    ``model.path`` (a folder or a hub id), else ``<work_dir>/base_model`` (``gdo pretrain``).

    When it comes to that folder and it does not exist: :class:`InputError` if
    ``required``, else None.
    """
    path = override or cfg.model.get("path")
    if path:
        return str(path)
    base = work_dir(cfg) / "base_model"
    if base.is_dir():
        return str(base)
    if not required:
        return None
    from gdo.utils.errors import InputError

    raise InputError(
        str(base),
        reason="no base model: run `gdo pretrain` first (or set model.path to a model "
        "folder or hub id)",
    )
