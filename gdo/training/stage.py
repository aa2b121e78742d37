"""``gdo train``: full fine-tuning of a Qwen-VL model on one goal's subset.

    gdo train goal=uniform                                          # CPU, one process
    torchrun --nproc_per_node 2 -m gdo train training/deepspeed=zero3   # ZeRO-3, 2 CPU ranks
    torchrun --nproc_per_node 8 -m gdo train training=h100 model=qwen3vl_8b goal=temp_plus

Output ``<work_dir>/train/<run_name or goal>/``: ``checkpoints/ckpt-<samples>/``,
``metrics.jsonl``, ``manifest.json`` (written last). A crashed run resumes from its
newest checkpoint; a finished one is skipped while its key matches.
"""

from __future__ import annotations

import copy
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from gdo.models.config import model_key
from gdo.models.device import resolve_device
from gdo.training.args import build_training_args
from gdo.training.checkpoints import (
    check_same_model,
    find_resume_checkpoint,
    list_checkpoints,
    read_state,
)
from gdo.training.data import (
    SubsetDataset,
    drop_missing_media,
    estimate_lengths,
    load_subset,
    logits_at_labels,
)
from gdo.training.pre_encode import (
    EncodedRows,
    PreEncoded,
    collate_pre_encoded,
    estimate_mb,
    pre_encode,
)
from gdo.training.trainer import (
    RunContext,
    all_reduce_sum,
    apply_freeze,
    base_model_info,
    make_trainer,
    read_metrics,
)
from gdo.utils.errors import ConfigError, InputError
from gdo.utils.manifest import content_hash, file_hash, is_fresh, read_manifest, write_manifest
from gdo.utils.progress import is_rank_zero
from gdo.utils.seed import seed_everything
from gdo.utils.stage import base_model_path, work_dir

log = logging.getLogger(__name__)

# training.* keys that change what is trained (the rest is bookkeeping).
_NOT_IN_KEY = (
    "logging_steps", "dataloader_workers", "trainer_report_to_wandb", "cpu_threads",
    "pre_encode", "pre_encode_max_mb", "logits_at_labels",
)  # fmt: skip


def default_init(cfg: DictConfig) -> str:
    """The model a run starts from: training.init_from, else model.path, else base_model/."""
    return str(base_model_path(cfg, cfg.training.init_from))


def input_key(path: str | Path) -> str:
    """A stage input's identity: its folder's manifest key if it has one, else a file hash."""
    p = Path(path)
    m = read_manifest(p if p.is_dir() else p.parent)
    if m is not None and m.get("key"):
        return str(m["key"])
    return file_hash(p) if p.is_file() else str(path)


def recipe_config(tcfg: DictConfig) -> dict[str, Any]:
    """The part of ``training.*`` that belongs in the run key."""
    plain = OmegaConf.to_container(tcfg, resolve=True)
    # ``subset`` is a path: a run keys its subset by content (input_key), and pre-training
    # reads no subset at all. A path in the key made the same run stale when spelt
    # absolute (a control sharing the demo's folder) instead of relative (``make demo``).
    for k in (*_NOT_IN_KEY, "pretrain", "run_name", "subset"):
        plain.pop(k, None)
    if int(plain.get("max_steps", -1)) > 0:
        plain.pop("epochs", None)  # max_steps overrides it (pre-training always sets it)
    ckpt = plain.get("checkpoint", {})
    for k in ("keep_resume_state", "resume", "resume_from", "overwrite"):
        ckpt.pop(k, None)
    return plain


@dataclass
class TrainResult:
    """What one call of ``train_on_rows`` did (all ranks get the same values)."""

    out_dir: Path
    counts: dict[str, Any]
    checkpoints: list[str]
    final_checkpoint: Path | None


def train_on_rows(
    cfg: DictConfig,
    tcfg: DictConfig,
    rows: list[dict[str, Any]],
    init: Path | str,
    out_dir: Path,
    run_key: str,
    job_type: str,
) -> TrainResult:
    """Train the model at ``init`` on ``rows`` with recipe ``tcfg``; checkpoints in ``out_dir``.

    Shared by ``gdo train`` and ``gdo pretrain``. Resumes from the newest checkpoint
    whose run key matches, refuses checkpoints of another base model.
    """
    from gdo.logging import get_logger
    from gdo.models import load_model

    _check_policy(tcfg)
    ckpt_root = out_dir / "checkpoints"
    seed_everything(int(cfg.seed), per_rank=False)
    cpu = resolve_device(cfg.model.device) == "cpu"
    args = build_training_args(tcfg, ckpt_root, int(cfg.seed), cpu=cpu)

    model_cfg = copy.deepcopy(cfg.model)
    if tcfg.max_length is not None:
        with open_dict(model_cfg):
            model_cfg.max_length = int(tcfg.max_length)
    # After the TrainingArguments: a SLURM task's LOCAL_RANK is set there.
    vlm = load_model(model_cfg, str(init), device=resolve_device(cfg.model.device))
    param_counts = apply_freeze(vlm.model, tcfg.freeze)
    base = base_model_info(vlm.model, str(init))

    resume = _resume_point(tcfg, ckpt_root, base, run_key)
    wall_offset = float(read_state(resume).get("wall_time_s", 0.0)) if resume else 0.0
    if resume is None and is_rank_zero() and (out_dir / "metrics.jsonl").exists():
        (out_dir / "metrics.jsonl").unlink()

    logger = get_logger(cfg, job_type=job_type, name=out_dir.name, dir=out_dir)
    ctx = RunContext(
        ckpt_root=ckpt_root,
        metrics_path=out_dir / "metrics.jsonl",
        base_model=base,
        run_key=run_key,
        every_fraction=tcfg.checkpoint.every_fraction,
        at_samples=[int(s) for s in tcfg.checkpoint.at_samples],
        keep_resume_state=str(tcfg.checkpoint.keep_resume_state),
        n_rows=len(rows),
        epochs=float(tcfg.epochs),
        group_by_length=bool(tcfg.group_by_length),
        logger=logger,
        wall_offset=wall_offset,
        goal=str(cfg.goal.name) if job_type == "train" else None,
    )
    lengths = estimate_lengths(rows, vlm) if tcfg.group_by_length else None
    dataset, collate, encoded = _training_data(tcfg, vlm, rows, lengths)
    if tcfg.logits_at_labels:
        collate = logits_at_labels(collate or vlm.collate)
    trainer = make_trainer(args, vlm, dataset, ctx, collate=collate)
    cpu = time.process_time()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    cpu_ms = int(1000 * (time.process_time() - cpu))

    trained, dropped, cpu_ms = all_reduce_sum([ctx.samples_trained, ctx.dropped_too_long, cpu_ms])
    final = trainer.state.global_step
    counts = {
        "steps": final,
        "samples": ctx.plan.samples_at(final),
        "samples_trained_this_session": trained,
        "dropped_too_long_this_session": dropped,
        "tokens": int(trainer.state.num_input_tokens_seen),
        "wall_time_s": round(ctx.wall_time(), 3),
        # CPU seconds of this session's training loop, all ranks (pre-encoding excluded).
        "cpu_time_s": round(cpu_ms / 1000, 3),
        "world_size": args.world_size,
        "samples_per_step": ctx.plan.samples_per_step,
        "resumed_from": resume.name if resume else None,
        # ZeRO-3 modality blocks fill partial blocks with repeats (per epoch).
        "repeated_for_modality_blocks": ctx.n_rows - len(rows),
        **{f"params_{k}": v for k, v in param_counts.items()},
        "pre_encoded": encoded is not None,
    }
    if encoded is not None:
        counts["pre_encode_s"] = round(encoded.seconds, 3)
        counts.update({f"pre_encode_{k}": v for k, v in encoded.counts.items()})
    losses = [r["loss"] for r in read_metrics(ctx.metrics_path) if "loss" in r]
    if losses:
        counts.update(first_loss=losses[0], last_loss=losses[-1])
    logger.log({"train/final_samples": counts["samples"], "train/tokens": counts["tokens"]})
    logger.finish()
    ckpts = list_checkpoints(ckpt_root)
    return TrainResult(out_dir, counts, [c.name for c in ckpts], ckpts[-1] if ckpts else None)


def _training_data(
    tcfg: DictConfig, vlm: Any, rows: list[dict[str, Any]], lengths: list[int] | None
) -> tuple[Any, Any, PreEncoded | None]:
    """(dataset, collate or None for ``VLM.collate``, the pre-encoded rows or None)."""
    if tcfg.pre_encode:
        need = estimate_mb(rows, vlm.frames, vlm.max_pixels)
        if need <= float(tcfg.pre_encode_max_mb):
            encoded = pre_encode(vlm, rows)
            return EncodedRows(rows, encoded, lengths), collate_pre_encoded(vlm, encoded), encoded
        log.warning(
            "training.pre_encode: ~%.0f MB for %d rows exceeds pre_encode_max_mb=%s; "
            "encoding per batch",
            need, len(rows), tcfg.pre_encode_max_mb,
        )  # fmt: skip
    return SubsetDataset(rows, lengths), None, None


def _resume_point(tcfg: DictConfig, ckpt_root: Path, base: dict, run_key: str) -> Path | None:
    ck = tcfg.checkpoint
    if ck.resume_from:
        path = Path(ck.resume_from)
        check_same_model(path, base)
        return path
    if ck.overwrite and is_rank_zero():
        for old in list_checkpoints(ckpt_root):
            check_same_model(old, base)  # never delete another model's checkpoints
            shutil.rmtree(old)
    wait_for_ranks()
    found = find_resume_checkpoint(ckpt_root, base, run_key)
    return found if ck.resume else None


def wait_for_ranks() -> None:
    """Wait for every rank (a no-op without an initialised process group)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def run(cfg: DictConfig) -> Path:
    """``gdo train``: fine-tune on ``training.subset``; returns ``<work_dir>/train/<name>/``."""
    tcfg = cfg.training
    name = tcfg.run_name or cfg.goal.name
    out_dir = work_dir(cfg) / "train" / str(name)
    subset = Path(tcfg.subset)
    init = default_init(cfg)
    rows = load_subset(subset, tcfg.media_root)
    n_subset = len(rows)
    rows, n_missing = drop_missing_media(rows, str(tcfg.on_missing_media), subset)
    if not rows:
        raise InputError(subset, reason=f"no trainable rows ({n_missing} with missing media)")

    key = content_hash(
        "train",
        recipe_config(tcfg),
        model_key(cfg.model),
        int(cfg.seed),
        input_key(subset),
        input_key(init) if Path(str(init)).exists() else str(init),
    )
    if is_fresh(out_dir, key) and list_checkpoints(out_dir / "checkpoints"):
        return out_dir

    result = train_on_rows(cfg, tcfg, rows, init, out_dir, key, job_type="train")
    if is_rank_zero():
        write_manifest(
            out_dir,
            stage="train",
            key=key,
            config=cfg,
            seed=int(cfg.seed),
            inputs={"subset": str(subset), "init": str(init)},
            counts={
                "subset_rows": n_subset,
                "skipped_missing_media": n_missing,
                "trained_rows": len(rows),
                **result.counts,
            },
            extra={"checkpoints": result.checkpoints},
        )
    wait_for_ranks()
    return out_dir


def _check_policy(tcfg: DictConfig) -> None:
    if str(tcfg.checkpoint.keep_resume_state) not in ("last", "all", "none"):
        raise ConfigError(
            f"training.checkpoint.keep_resume_state={tcfg.checkpoint.keep_resume_state}: "
            "expected last, all or none"
        )
