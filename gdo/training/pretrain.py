"""``gdo pretrain``: the tiny base model, trained once on the world's perception split.

    gdo pretrain                                    # -> <work_dir>/base_model/
    gdo pretrain training.pretrain.max_samples=16000
    gdo pretrain training.pretrain.recipe.lr=5e-4    # the recipe: conf/training/pretrain/tiny.yaml

A tiny model trained from scratch knows nothing, and GDO's descriptors (blind loss,
self-consistency, ...) need a base that already perceives colours and counts, as a real
pretrained VLM does. So the world's generic perception data (not the pool) trains a
random-init tiny Qwen2-VL (``gdo.models.build_tiny`` over the words the world's texts can
contain, ``<world_dir>/vocabulary.json`` as ``gdo world`` wrote it),
and the result is saved as a ``from_pretrained`` folder that describe and train start
from. Real runs skip this stage and use ``model.path``. Cached: skipped while the
manifest key (model sizes, recipe, vocabulary, data) matches.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from gdo.models.config import model_key
from gdo.training.checkpoints import RESUME_FILES, RESUME_GLOBS, list_checkpoints, read_state
from gdo.training.data import drop_missing_media, load_subset
from gdo.training.stage import input_key, recipe_config, train_on_rows, wait_for_ranks
from gdo.utils.errors import InputError
from gdo.utils.manifest import MANIFEST, content_hash, is_fresh, write_manifest
from gdo.utils.progress import is_rank_zero
from gdo.utils.stage import work_dir, world_dir

# Recipe keys that replace training's value whole instead of merging into it: the pretrain
# run has no DeepSpeed, and none of the SFT's ZeRO options (offload, extra JSON) may leak in.
REPLACED = ("deepspeed",)


def pretrain_recipe(tcfg: DictConfig, world_size: int = 1) -> DictConfig:
    """``training.*`` with ``training.pretrain.recipe`` (conf/training/pretrain/*.yaml) merged
    in, and a step budget from ``max_samples``: ``max_samples / (batch x ranks)``, rounded up."""
    p = tcfg.pretrain
    out = OmegaConf.create(OmegaConf.to_container(tcfg, resolve=True))
    recipe = OmegaConf.to_container(p.recipe, resolve=True)
    with open_dict(out):
        for key in REPLACED:
            out[key] = recipe.pop(key)
        out.merge_with(recipe)
        per_step = int(out.per_device_batch_size) * int(out.grad_accum) * max(1, world_size)
        out.max_steps = max(1, math.ceil(int(p.max_samples) / per_step))
    return out


def run(cfg: DictConfig) -> Path:
    """Build + pre-train the tiny base model; returns ``<work_dir>/base_model/``."""
    import os

    from gdo.models import build_tiny

    p = cfg.training.pretrain
    final = Path(p.out_dir).expanduser().resolve()
    data = Path(p.data)
    vocab = world_vocabulary(cfg)
    recipe = pretrain_recipe(cfg.training, int(os.environ.get("WORLD_SIZE", "1")))
    key = content_hash(
        "pretrain",
        model_key(cfg.model),
        recipe_config(recipe),
        vocab,
        int(cfg.seed),
        input_key(data) if data.exists() else str(data),
    )
    if is_fresh(final, key):
        return final

    rows = load_subset(data, str(p.media_root))
    n_rows = len(rows)
    rows, n_missing = drop_missing_media(rows, str(cfg.training.on_missing_media), data)
    if not rows:
        raise InputError(data, reason=f"no usable pre-training rows ({n_missing} missing media)")

    run_dir = work_dir(cfg) / "pretrain"
    init = run_dir / "init"
    if is_rank_zero() and _stale(run_dir, key):
        # Another model/recipe/vocabulary: the old partial run is of no use to resume.
        shutil.rmtree(run_dir)
    if is_rank_zero() and not (init / "config.json").exists():
        build_tiny(cfg.model, init, vocab)
    wait_for_ranks()
    result = train_on_rows(cfg, recipe, rows, init, run_dir, key, job_type="pretrain")
    if is_rank_zero():
        _export(result.final_checkpoint, final)
        write_manifest(
            final,
            stage="pretrain",
            key=key,
            config=cfg,
            seed=int(cfg.seed),
            inputs={"perception": str(data)},
            counts={
                "perception_rows": n_rows,
                "skipped_missing_media": n_missing,
                "vocabulary": len(vocab),
                **result.counts,
            },
        )
    wait_for_ranks()
    return final


def world_vocabulary(cfg: DictConfig) -> list[str]:
    """The tiny tokenizer's words: ``<world_dir>/vocabulary.json``, written by ``gdo world``
    (an artifact of the world, so that training does not import the world's generator)."""
    path = world_dir(cfg) / "vocabulary.json"
    try:
        words = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(path), reason="missing; run `gdo world` first") from None
    except ValueError as err:
        raise InputError(str(path), None, None, "a JSON list of words", reason=str(err)) from None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise InputError(str(path), None, None, "a JSON list of words", got=type(words).__name__)
    return words


def _stale(run_dir: Path, key: str) -> bool:
    ckpts = list_checkpoints(run_dir / "checkpoints")
    return any(read_state(c).get("run_key") != key for c in ckpts)


def _export(ckpt: Path | None, final: Path) -> None:
    """Copy the last checkpoint's model + processor (not its resume state) to ``final``."""
    if ckpt is None:
        raise InputError(reason="pretraining saved no checkpoint")
    staging = final.parent / f".{final.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    skip = set(RESUME_FILES) | {MANIFEST, "trainer_state.json", "training_args.bin"}

    def ignore(_dir: str, names: list[str]) -> set[str]:
        out = {n for n in names if n in skip}
        for pattern in RESUME_GLOBS:
            out |= {n for n in names if Path(n).match(pattern)}
        return out

    shutil.copytree(ckpt, staging, ignore=ignore)
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
