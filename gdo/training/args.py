"""TrainingArguments from ``training.*`` and the process-group environment.

torchrun sets RANK / WORLD_SIZE itself; a SLURM task (srun, hydra-submitit-launcher) gets
them mapped from SLURM's variables, and a single process gets a one-rank group when
DeepSpeed needs one.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import torch
from transformers import TrainingArguments

from gdo.training.ds_config import render_deepspeed
from gdo.utils.errors import ConfigError

# transformers 5 renamed gradient_checkpointing; older releases only know the old name.
_CHECKPOINTING = (
    "activation_checkpointing"
    if "activation_checkpointing" in TrainingArguments.__dataclass_fields__
    else "gradient_checkpointing"
)


def _slurm_env() -> None:
    # One SLURM task per rank (srun / hydra-submitit-launcher): map SLURM's variables to
    # the torch.distributed ones torchrun would have set. torchrun's own win if present.
    if "RANK" in os.environ or int(os.environ.get("SLURM_NTASKS", "1")) <= 1:
        return
    if "SLURM_PROCID" not in os.environ:
        return
    first_host = os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "127.0.0.1")
    nodelist = os.environ.get("SLURM_JOB_NODELIST") or os.environ.get("SLURM_NODELIST")
    if nodelist:
        import subprocess

        try:
            out = subprocess.run(
                ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True
            ).stdout.split()
            first_host = out[0] if out else first_host
        except OSError:
            pass
    os.environ.update(
        {
            "RANK": os.environ["SLURM_PROCID"],
            "LOCAL_RANK": os.environ.get("SLURM_LOCALID", "0"),
            "WORLD_SIZE": os.environ["SLURM_NTASKS"],
            "LOCAL_WORLD_SIZE": os.environ.get("SLURM_NTASKS_PER_NODE", "1").split("(")[0],
        }
    )
    os.environ.setdefault("MASTER_ADDR", first_host)
    os.environ.setdefault("MASTER_PORT", "29500")


def _single_process_env() -> None:
    # DeepSpeed needs a process group even for one process; torchrun sets these itself.
    if "WORLD_SIZE" in os.environ:
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"})
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(port))


def build_training_args(
    tcfg: Any, output_dir: Path, seed: int, cpu: bool = False
) -> TrainingArguments:
    """TrainingArguments from ``training.*`` (saving is driven by the checkpoint plan);
    ``cpu``: the model runs on the CPU (``model.device``, ``gdo.models.device``)."""
    ds = render_deepspeed(tcfg.deepspeed)
    _slurm_env()
    if ds is not None:
        _single_process_env()
    if cpu and int(tcfg.cpu_threads) > 0:
        torch.set_num_threads(int(tcfg.cpu_threads))
    if tcfg.bf16 and cpu:
        # bf16 autocast on CPU is slow and not what the CPU recipe measures.
        raise ConfigError("training.bf16=true on CPU: use training=cpu (fp32) or a GPU")
    args = TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=int(tcfg.per_device_batch_size),
        gradient_accumulation_steps=int(tcfg.grad_accum),
        num_train_epochs=float(tcfg.epochs),
        max_steps=int(tcfg.max_steps),
        learning_rate=float(tcfg.lr),
        lr_scheduler_type=str(tcfg.lr_scheduler),
        warmup_steps=float(tcfg.warmup_ratio),
        weight_decay=float(tcfg.weight_decay),
        max_grad_norm=float(tcfg.max_grad_norm),
        bf16=bool(tcfg.bf16),
        **{_CHECKPOINTING: bool(tcfg.gradient_checkpointing)},
        logging_steps=int(tcfg.logging_steps),
        logging_first_step=True,
        save_strategy="no",  # CheckpointCallback decides
        save_only_model=str(tcfg.checkpoint.keep_resume_state) == "none",
        report_to=["wandb"] if tcfg.trainer_report_to_wandb else [],
        seed=int(seed),
        data_seed=int(seed),
        dataloader_num_workers=int(tcfg.dataloader_workers),
        remove_unused_columns=False,  # samples are dicts for VLM.collate, not model inputs
        include_num_input_tokens_seen="non_padding",
        use_cpu=cpu,
        # gloo only for a real process group: with one plain process, accelerate would
        # otherwise try to join a group that was never created.
        ddp_backend="gloo" if cpu and "WORLD_SIZE" in os.environ else None,
        # Text-only batches leave the vision tower unused; plain DDP must tolerate it.
        ddp_find_unused_parameters=True if ds is None else None,
        deepspeed=ds,
        disable_tqdm=os.environ.get("GDO_PROGRESS", "1") == "0",
    )
    # Device setup is lazy; force it now so the process group exists before the model
    # is built (ZeRO-3's partitioned loading sizes batches by the world size).
    _ = args.device
    if ds is not None:
        import deepspeed

        deepspeed.init_distributed(dist_backend="gloo" if cpu else "nccl")
    return args
