"""DeepSpeed config rendered from ``training.deepspeed`` (the JSON in launch/ds_zero3.json).

Every value the Trainer knows (batch sizes, accumulation, clipping, precision, the
optimizer's lr/betas/eps/weight decay) is left as ``"auto"``, so the Trainer's
arguments stay the single source of truth and the file works for any GPU count.
The scheduler is left out on purpose: the Trainer builds its own (cosine with
warmup) around the DeepSpeed optimizer.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gdo.utils.errors import ConfigError
from gdo.utils.io import atomic_write_json
from gdo.utils.manifest import to_plain


def render_deepspeed(ds: Any) -> dict[str, Any] | None:
    """The DeepSpeed JSON dict of ``training.deepspeed``; None when ``stage`` is 0 (off)."""
    stage = int(ds.stage)
    if stage == 0:
        return None
    if stage not in (2, 3):
        raise ConfigError(f"training.deepspeed.stage={stage}: expected 0 (off), 2 or 3")
    for key in ("offload_optimizer", "offload_param"):
        if str(getattr(ds, key, "none")) not in ("none", "cpu"):
            raise ConfigError(
                f"training.deepspeed.{key}={getattr(ds, key)}: expected 'none' or 'cpu'"
            )
    zero: dict[str, Any] = {
        "stage": stage,
        "offload_optimizer": {"device": str(ds.offload_optimizer), "pin_memory": True},
        "overlap_comm": bool(ds.overlap_comm),
        "contiguous_gradients": bool(ds.contiguous_gradients),
        "reduce_bucket_size": "auto",
    }
    if stage == 3:
        zero.update(
            {
                "offload_param": {"device": str(ds.offload_param), "pin_memory": True},
                "sub_group_size": 1_000_000_000,
                "stage3_prefetch_bucket_size": "auto",
                "stage3_param_persistence_threshold": "auto",
                "stage3_max_live_parameters": 1_000_000_000,
                "stage3_max_reuse_distance": 1_000_000_000,
                "stage3_gather_16bit_weights_on_model_save": bool(
                    ds.gather_16bit_weights_on_model_save
                ),
            }
        )
    else:
        zero.update(
            {
                "allgather_partitions": True,
                "allgather_bucket_size": 200_000_000,
                "reduce_scatter": True,
            }
        )
    out: dict[str, Any] = {
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "optimizer": {
            "type": "AdamW",
            "params": {
                "lr": "auto",
                "betas": "auto",
                "eps": "auto",
                "weight_decay": "auto",
                # torch's AdamW: no fused-kernel build needed, works on CPU ranks too.
                "torch_adam": bool(ds.torch_adam),
            },
        },
        "zero_optimization": zero,
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "steps_per_print": 1000000,
        "wall_clock_breakdown": False,
    }
    extra = to_plain(getattr(ds, "extra", None)) or {}
    return _deep_merge(out, dict(extra))


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


def write_deepspeed_json(ds: Any, path: str | Path) -> Path:
    """Write the rendered JSON (e.g. ``launch/ds_zero3.json``) atomically."""
    rendered = render_deepspeed(ds)
    if rendered is None:
        raise ConfigError("training.deepspeed.stage=0: there is no DeepSpeed JSON to write")
    return atomic_write_json(path, rendered)


def main(argv: list[str] | None = None) -> int:
    """``python -m gdo.training.ds_config zero3 launch/ds_zero3.json``: render a preset."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("preset", help="a file stem of conf/training/deepspeed/")
    parser.add_argument("out", help="where to write the JSON")
    args = parser.parse_args(argv)
    write_deepspeed_json(deepspeed_preset(args.preset), args.out)
    return 0


def deepspeed_preset(name: str) -> Any:
    """``conf/training/deepspeed/<name>.yaml`` on its schema (what ``training/deepspeed=<name>``
    composes: the presets are plain values, no defaults list or interpolation)."""
    from omegaconf import OmegaConf

    from gdo.training.config import DeepSpeedConf
    from gdo.utils.conf import conf_dir

    path = conf_dir() / "training" / "deepspeed" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"no DeepSpeed preset '{name}' ({path}); known: {', '.join(known)}")
    return OmegaConf.merge(OmegaConf.structured(DeepSpeedConf), OmegaConf.load(path))


if __name__ == "__main__":
    raise SystemExit(main())
