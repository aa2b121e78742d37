"""Schema of ``conf/training/*.yaml`` (and the nested ``conf/training/deepspeed/*.yaml``).

Owned by gdo.training. ``training.deepspeed`` is a nested config group of
``training`` (``training/deepspeed=zero2`` on the command line); the rest of the
recipe is plain keys (``training.lr=2e-5``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class DeepSpeedConf:
    """DeepSpeed ZeRO settings, rendered to a JSON dict with ``"auto"`` values."""

    name: str = "zero3"
    # 0 = no DeepSpeed (plain DDP / single process), 2 or 3 = ZeRO stage.
    stage: int = 3
    offload_optimizer: str = "none"  # none | cpu
    offload_param: str = "none"  # none | cpu (ZeRO-3 only)
    # DeepSpeed's fused CPU Adam needs a compiler; torch's AdamW works everywhere.
    torch_adam: bool = True
    overlap_comm: bool = True
    contiguous_gradients: bool = True
    # Full 16-bit weights in every checkpoint, so `from_pretrained` loads it directly.
    gather_16bit_weights_on_model_save: bool = True
    # Extra keys merged last into the rendered dict (free-form DeepSpeed JSON).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FreezeConf:
    """Which parts of the VLM stay fixed (the paper trains all three)."""

    vision_tower: bool = False
    merger: bool = False  # the projector from vision to LLM width
    llm: bool = False


@dataclass
class CheckpointConf:
    """When to save ``checkpoints/ckpt-<samples>/``."""

    # Save every this fraction of the run (0.2 = at 1/5, 2/5, ... 5/5); null = off.
    every_fraction: float | None = 0.2
    # Also save after these numbers of samples seen (exact when a multiple of the
    # samples per optimizer step, else at the first step past it).
    at_samples: list[int] = field(default_factory=list)
    # Optimizer/RNG state kept for resume: `last` (only the newest checkpoint), `all`, `none`.
    keep_resume_state: str = "last"
    # Resume from the newest checkpoint with resume state when the run key matches.
    resume: bool = True
    # Resume from this checkpoint folder instead (it must come from the same base model).
    resume_from: str | None = None
    # Delete checkpoints of another config/subset in the output folder instead of refusing.
    overwrite: bool = False


@dataclass
class PretrainCheckpointConf:
    """The ``training.checkpoint`` keys the pretrain recipe sets (``resume``, ``overwrite``
    carry over from ``training.checkpoint``)."""

    every_fraction: float | None = MISSING
    at_samples: list[int] = MISSING
    keep_resume_state: str = MISSING
    resume_from: str | None = MISSING


@dataclass
class PretrainDeepSpeedConf:
    """``training.deepspeed`` of the pretrain run, which replaces it whole."""

    name: str = MISSING
    stage: int = MISSING


@dataclass
class PretrainRecipeConf:
    """The ``training.*`` values of the pretrain run (``conf/training/pretrain/*.yaml``);
    every other ``training.*`` key carries over (gdo.training.pretrain.pretrain_recipe)."""

    lr: float = MISSING
    warmup_ratio: float = MISSING
    per_device_batch_size: int = MISSING
    grad_accum: int = MISSING
    bf16: bool = MISSING
    gradient_checkpointing: bool = MISSING
    freeze: FreezeConf = MISSING
    checkpoint: PretrainCheckpointConf = MISSING
    deepspeed: PretrainDeepSpeedConf = MISSING


@dataclass
class PretrainConf:
    """``gdo pretrain``: the tiny base model trained on the world's perception split.

    No defaults here: ``conf/training/pretrain/<name>.yaml`` states every value."""

    data: str = MISSING
    media_root: str = MISSING
    out_dir: str = MISSING
    # Samples to train on in total (the perception split is repeated as needed); the run's
    # max_steps is this over the samples per optimizer step.
    max_samples: int = MISSING
    recipe: PretrainRecipeConf = MISSING


@dataclass
class TrainingConf:
    """The SFT recipe (``gdo train``) and the pretrain recipe (``gdo pretrain``)."""

    name: str = "cpu"
    # Output folder name under <work_dir>/train/; null = the goal's name.
    run_name: str | None = None
    # Subset to train on: candidate parquet, LLaVA JSON/JSONL or messages JSONL.
    subset: str = "${paths.work_dir}/subsets/${goal.name}/subset.parquet"
    # Media folder for relative paths in a LLaVA / messages subset file.
    media_root: str | None = None
    # Start from this model folder; null = model.path (real runs) or <work_dir>/base_model.
    init_from: str | None = None
    freeze: FreezeConf = field(default_factory=FreezeConf)
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    lr: float = 1.0e-3
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    per_device_batch_size: int = 32
    grad_accum: int = 1
    bf16: bool = False
    gradient_checkpointing: bool = False
    # Longest sequence; null = model.max_length (longer samples lose frames, then are dropped).
    max_length: int | None = None
    # Sort samples of similar length into the same batch (less padding).
    group_by_length: bool = True
    dataloader_workers: int = 0
    # Encode every row once before the first step (decoded frames, prompt tokens, pixel
    # patches, M-RoPE positions); batches are then padding + concatenation, the same
    # tensors as encoding per batch (gdo.training.pre_encode). Held in memory: above
    # pre_encode_max_mb (estimated) the rows are encoded per batch instead.
    pre_encode: bool = False
    pre_encode_max_mb: float = 4096.0
    # Logits (and their softmax) only at the answer positions, not at every position:
    # same loss and gradients (gdo.training.data.logits_at_labels).
    logits_at_labels: bool = True
    # Subset rows whose media files are missing: `skip` (counted) or `fail`.
    on_missing_media: str = "skip"
    logging_steps: int = 5
    # Also let the Trainer's own W&B integration log (off: gdo's logger already does).
    trainer_report_to_wandb: bool = False
    # Torch intra-op threads per rank on CPU (the CPU default is 1; 0 = leave torch's).
    cpu_threads: int = 1
    checkpoint: CheckpointConf = field(default_factory=CheckpointConf)
    deepspeed: DeepSpeedConf = field(default_factory=DeepSpeedConf)
    pretrain: PretrainConf = field(default_factory=PretrainConf)
