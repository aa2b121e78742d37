"""The transformers ``Trainer`` set up for VLM SFT: checkpoints by samples seen, resume,
length-grouped batches, drop counts, metrics to gdo's logger.

``gdo.training.args.build_training_args`` must run before the model is loaded: under
ZeRO-3 the TrainingArguments switch ``from_pretrained`` to partitioned loading.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from gdo.training.checkpoints import (
    CheckpointPlan,
    plan_checkpoints,
    prune_resume_state,
    write_state,
)
from gdo.training.data import Collator, SubsetDataset
from gdo.training.sampler import EpochSampler, modality_of
from gdo.utils.errors import ConfigError
from gdo.utils.io import append_jsonl

# Keys a model config carries that say nothing about which model it is.
_VOLATILE = {"dtype", "torch_dtype", "transformers_version", "use_cache", "architectures"}


def apply_freeze(model: torch.nn.Module, freeze: Any) -> dict[str, int]:
    """Freeze the vision tower, the merger (projector) and/or the LLM; returns param counts."""
    counts = {"trainable": 0, "frozen": 0}
    for name, p in model.named_parameters():
        part = model_part(name)
        if bool(getattr(freeze, part)):
            p.requires_grad_(False)
        n = p.ds_numel if hasattr(p, "ds_numel") else p.numel()
        counts["trainable" if p.requires_grad else "frozen"] += int(n)
    if counts["trainable"] == 0:
        raise ConfigError("training.freeze: every parameter is frozen, nothing would train")
    return counts


def model_part(name: str) -> str:
    """``vision_tower``, ``merger`` or ``llm`` for a Qwen2-VL / Qwen3-VL parameter name."""
    if "visual." in name or name.startswith("visual"):
        return "merger" if ("merger" in name) else "vision_tower"
    return "llm"


def base_model_info(model: torch.nn.Module, source: str) -> dict[str, Any]:
    """Identity of the model a run starts from: hub id / path plus a config fingerprint."""
    from gdo.utils.manifest import content_hash

    def clean(d: Any) -> Any:
        if isinstance(d, dict):
            return {
                k: clean(v)
                for k, v in d.items()
                if not str(k).startswith("_") and k not in _VOLATILE
            }
        return d

    cfg = clean(model.config.to_dict())
    return {
        "id": str(source),
        "model_type": cfg.get("model_type"),
        "fingerprint": content_hash(cfg),
    }


@dataclass
class RunContext:
    """What the trainer, its callbacks and the stage share about one run."""

    ckpt_root: Path
    metrics_path: Path
    base_model: dict[str, Any]
    run_key: str
    every_fraction: float | None
    at_samples: list[int]
    keep_resume_state: str
    n_rows: int
    epochs: float
    group_by_length: bool
    goal: str | None = None
    # Writes the processor files into a checkpoint folder (see make_trainer).
    save_processor: Any = None
    logger: Any = None
    wall_offset: float = 0.0
    start: float = field(default_factory=time.time)
    plan: CheckpointPlan | None = None
    saved: list[str] = field(default_factory=list)
    samples_trained: int = 0  # this rank
    dropped_too_long: int = 0  # this rank

    def wall_time(self) -> float:
        """Seconds of training so far, across resumed sessions."""
        return self.wall_offset + (time.time() - self.start)


class GdoTrainer(Trainer):
    """Trainer with a seeded length-grouped sampler and ``ckpt-<samples>`` checkpoints."""

    def __init__(self, *args: Any, gdo: RunContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gdo = gdo

    def _get_train_sampler(self, train_dataset=None):
        ds = train_dataset if train_dataset is not None else self.train_dataset
        bs = self.args.train_batch_size * self.args.gradient_accumulation_steps
        lengths = getattr(ds, "lengths", None) if self.gdo.group_by_length else None
        zero3 = self.is_deepspeed_enabled and self.accelerator.deepspeed_plugin.zero_stage == 3
        block = self.args.train_batch_size * self.args.world_size
        sampler = EpochSampler(
            len(ds),
            int(self.args.seed),
            lengths=lengths,
            batch_size=bs,
            modalities=[modality_of(r.get("media_kind", "none")) for r in ds.rows],
            block=block if zero3 and self.args.world_size > 1 else 0,
        )
        # Modality blocks may repeat a few samples: the run's sample count follows.
        self.gdo.n_rows = len(sampler)
        return sampler

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        if self.is_deepspeed_enabled or self.is_fsdp_enabled or model is not None:
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        # The stock loader reads model.safetensors without the key conversion that
        # save_pretrained applies (Qwen-VL's `visual.*` / `model.layers.*` on disk), so
        # it silently resumes from the *base* weights; from_pretrained converts the keys.
        loaded = type(self.model).from_pretrained(resume_from_checkpoint, dtype=self.model.dtype)
        self.model.load_state_dict(loaded.state_dict(), strict=True)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The model's own loss (labels mask all but the answer tokens), with counts kept."""
        dropped = inputs.pop("gdo_dropped", None)
        if dropped is not None:
            self.gdo.dropped_too_long += int(dropped)
        replay = bool(inputs.pop("gdo_zero_loss", 0))
        if model.training and not replay:
            self.gdo.samples_trained += int(inputs["input_ids"].shape[0])
        out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if not replay:
            return out
        # A batch whose samples were all too long: same collectives, no learning.
        if return_outputs:
            return out[0] * 0.0, out[1]
        return out * 0.0

    def _save_checkpoint(self, model, trial) -> None:
        super()._save_checkpoint(model, trial)
        step = self.state.global_step
        src = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{step}"
        samples = self.gdo.plan.samples_at(step)
        dst = self.gdo.ckpt_root / f"ckpt-{samples}"
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            if dst.exists():
                shutil.rmtree(dst)
            src.rename(dst)
            self.gdo.save_processor(dst)
            logs = [h for h in self.state.log_history if "loss" in h]
            write_state(
                dst,
                {
                    "samples": samples,
                    "step": step,
                    "max_steps": self.state.max_steps,
                    "epoch": self.state.epoch,
                    "tokens": int(self.state.num_input_tokens_seen),
                    "wall_time_s": round(self.gdo.wall_time(), 3),
                    "samples_per_step": self.gdo.plan.samples_per_step,
                    "world_size": self.args.world_size,
                    "loss": logs[-1]["loss"] if logs else None,
                    "goal": self.gdo.goal,
                    "seed": self.args.seed,
                    "budget": self.gdo.plan.total_samples,
                    "base_model": self.gdo.base_model,
                    "run_key": self.gdo.run_key,
                },
            )
            keep = self.gdo.keep_resume_state
            if keep == "last":
                prune_resume_state(self.gdo.ckpt_root, keep=dst)
            elif keep == "none":
                prune_resume_state(self.gdo.ckpt_root, keep=None)
            self.gdo.saved.append(dst.name)
        self.accelerator.wait_for_everyone()


class CheckpointCallback(TrainerCallback):
    """Plans the checkpoint steps once the Trainer knows ``max_steps``, then triggers them."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def on_train_begin(self, args, state, control, **kwargs):
        sps = args.train_batch_size * args.gradient_accumulation_steps * args.world_size
        total = (
            round(self.ctx.n_rows * self.ctx.epochs)
            if args.max_steps <= 0
            else state.max_steps * sps
        )
        self.ctx.plan = plan_checkpoints(
            sps, state.max_steps, total, self.ctx.every_fraction, self.ctx.at_samples
        )

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in self.ctx.plan.steps:
            control.should_save = True
        return control


class MetricsCallback(TrainerCallback):
    """Loss / lr / samples to ``metrics.jsonl`` and gdo's logger (rank 0)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {
            "step": state.global_step,
            "samples": self.ctx.plan.samples_at(state.global_step) if self.ctx.plan else None,
            "wall_time_s": round(self.ctx.wall_time(), 3),
            **{k: v for k, v in logs.items() if isinstance(v, int | float)},
        }
        self.ctx.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.ctx.metrics_path, "a", encoding="utf-8") as fh:
            append_jsonl(fh, [row], fsync=False)
        if self.ctx.logger is not None:
            self.ctx.logger.log({f"train/{k}": v for k, v in row.items()}, step=state.global_step)


class CountingCollator(Collator):
    """Adds this batch's drop count so it survives DataLoader worker processes."""

    def __call__(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
        before = self.dropped.too_long
        batch = super().__call__(samples)
        batch["gdo_dropped"] = self.dropped.too_long - before
        return batch


def make_trainer(
    args: TrainingArguments,
    vlm: Any,
    dataset: SubsetDataset,
    ctx: RunContext,
    collate: Any = None,
) -> GdoTrainer:
    """A GdoTrainer over ``dataset`` with the checkpoint and metrics callbacks; batches
    come from ``collate`` (default ``vlm.collate``; see ``gdo.training.pre_encode``).

    The processor is not handed to the Trainer: the torchvision-free processor cannot be
    serialised by transformers, so checkpoints copy the source model's processor files
    (unchanged by training) instead.
    """
    ctx.save_processor = lambda dst: save_processor(vlm, dst)
    trainer = GdoTrainer(
        model=vlm.model,
        args=args,
        train_dataset=dataset,
        data_collator=CountingCollator(collate or vlm.collate),
        callbacks=[CheckpointCallback(ctx), MetricsCallback(ctx)],
        gdo=ctx,
    )
    return trainer


def save_processor(vlm: Any, dst: Path) -> None:
    """The processor files of ``vlm``'s source checkpoint, else ``processor.save_pretrained``."""
    source = getattr(vlm, "source", None)
    if source is not None:
        from gdo.models.files import copy_processor_files

        copy_processor_files(source, dst)
    else:
        vlm.processor.save_pretrained(dst)


def all_reduce_sum(values: list[int]) -> list[int]:
    """Sum per-rank counters over the process group (identity when not distributed)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return list(values)
    t = torch.tensor(values, dtype=torch.int64)
    torch.distributed.all_reduce(t)
    return [int(v) for v in t.tolist()]


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a run's ``metrics.jsonl`` (empty when absent)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
