"""Checkpoints named by samples seen: ``checkpoints/ckpt-<samples>/``.

Each folder holds a ``save_pretrained`` model (full weights, gathered under ZeRO-3),
the processor, ``gdo_state.json`` (samples, tokens, wall time, step, base model) and,
for the newest one, the Trainer's resume state (optimizer, scheduler, RNG, DeepSpeed
shards). The x axis of the frontier is samples, not steps, so that runs with different
batch sizes or GPU counts line up.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdo.utils.errors import ConfigError, InputError
from gdo.utils.io import atomic_write_json, read_json

GDO_STATE = "gdo_state.json"
CKPT_RE = re.compile(r"^ckpt-(\d+)$")
# Files and folders that only matter for resuming (dropped from older checkpoints).
RESUME_FILES = (
    "optimizer.pt",
    "scheduler.pt",
    "scaler.pt",
    "latest",
    "zero_to_fp32.py",
    "zero_to_torch.py",
)
RESUME_GLOBS = ("rng_state*.pth", "global_step*", "optimizer*.bin")


@dataclass(frozen=True)
class CheckpointPlan:
    """Which optimizer steps save a checkpoint, and how many samples each has seen."""

    samples_per_step: int
    total_steps: int
    total_samples: int
    steps: tuple[int, ...]

    def samples_at(self, step: int) -> int:
        """Samples drawn from the subset after ``step`` optimizer steps (capped at the run's)."""
        return min(step * self.samples_per_step, self.total_samples)


def plan_checkpoints(
    samples_per_step: int,
    total_steps: int,
    total_samples: int,
    every_fraction: float | None,
    at_samples: list[int] | tuple[int, ...] = (),
) -> CheckpointPlan:
    """Steps to save at: every ``every_fraction`` of the run plus the steps that first reach
    each of ``at_samples``. The last step always saves (the final model is a checkpoint too).
    """
    if samples_per_step <= 0 or total_steps <= 0:
        raise ConfigError(
            f"nothing to train: {total_steps} steps of {samples_per_step} samples "
            "(an empty subset, or training.max_steps / training.epochs too small)"
        )
    steps: set[int] = {total_steps}
    if every_fraction is not None:
        if not 0 < float(every_fraction) <= 1:
            raise ConfigError(
                f"training.checkpoint.every_fraction={every_fraction}: expected a value in (0, 1]"
            )
        n = max(1, round(1 / float(every_fraction)))
        for k in range(1, n + 1):
            steps.add(min(total_steps, max(1, math.ceil(k * total_steps / n - 1e-9))))
    for s in at_samples:
        if int(s) <= 0:
            raise ConfigError(f"training.checkpoint.at_samples: {s} is not a positive count")
        if int(s) <= total_samples:
            steps.add(min(total_steps, math.ceil(int(s) / samples_per_step)))
    return CheckpointPlan(samples_per_step, total_steps, total_samples, tuple(sorted(steps)))


def list_checkpoints(ckpt_root: str | Path) -> list[Path]:
    """``ckpt-<samples>`` folders with a ``gdo_state.json``, fewest samples first."""
    root = Path(ckpt_root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if CKPT_RE.match(p.name) and (p / GDO_STATE).exists()]
    return sorted(found, key=lambda p: int(CKPT_RE.match(p.name).group(1)))


def read_state(ckpt: str | Path) -> dict[str, Any]:
    """``gdo_state.json`` of a checkpoint; InputError when absent or unreadable."""
    path = Path(ckpt) / GDO_STATE
    try:
        state = read_json(path)
    except FileNotFoundError as exc:
        raise InputError(path, reason="not a gdo checkpoint (no gdo_state.json)") from exc
    except ValueError as exc:
        raise InputError(path, reason=f"unreadable JSON ({exc})") from exc
    if not isinstance(state, dict) or "samples" not in state:
        raise InputError(path, field="samples", expected="a gdo_state.json object", got=state)
    return state


def write_state(ckpt: str | Path, state: dict[str, Any]) -> Path:
    """Write ``gdo_state.json`` atomically."""
    return atomic_write_json(Path(ckpt) / GDO_STATE, state)


def has_resume_state(ckpt: str | Path) -> bool:
    """True when the Trainer can resume from this folder (trainer state + optimizer)."""
    p = Path(ckpt)
    if not (p / "trainer_state.json").exists():
        return False
    return (p / "optimizer.pt").exists() or (p / "latest").exists()


def check_same_model(ckpt: str | Path, base_model: dict[str, Any]) -> None:
    """Refuse a checkpoint made from another base model (InputError naming both)."""
    state = read_state(ckpt)
    theirs = state.get("base_model") or {}
    for key in ("fingerprint",):
        if theirs.get(key) != base_model.get(key):
            raise InputError(
                Path(ckpt) / GDO_STATE,
                field=f"base_model.{key}",
                reason=(
                    "this checkpoint was trained from another model "
                    f"({theirs.get('id', '?')}); refusing to resume or overwrite it"
                ),
                expected=f"{base_model.get(key)} ({base_model.get('id')})",
                got=theirs.get(key),
            )


def find_resume_checkpoint(
    ckpt_root: str | Path, base_model: dict[str, Any], run_key: str
) -> Path | None:
    """The newest checkpoint to resume from, or None for a fresh start.

    Every existing checkpoint must come from the same base model (else InputError) and
    the same run key (else ConfigError: the folder belongs to another recipe or subset).
    """
    ckpts = list_checkpoints(ckpt_root)
    for ckpt in ckpts:
        check_same_model(ckpt, base_model)
        key = read_state(ckpt).get("run_key")
        if key != run_key:
            raise ConfigError(
                f"{ckpt}: made by another training config or subset (run key {key}, this run "
                f"{run_key}); set training.run_name to train elsewhere, or "
                "training.checkpoint.overwrite=true to delete the old checkpoints"
            )
    resumable = [c for c in ckpts if has_resume_state(c)]
    return resumable[-1] if resumable else None


def prune_resume_state(ckpt_root: str | Path, keep: Path | None) -> list[Path]:
    """Delete resume-only files from every checkpoint but ``keep`` (None: from all)."""
    pruned = []
    for ckpt in list_checkpoints(ckpt_root):
        if keep is not None and ckpt.resolve() == Path(keep).resolve():
            continue
        targets = [ckpt / f for f in RESUME_FILES]
        for pattern in RESUME_GLOBS:
            targets += list(ckpt.glob(pattern))
        for t in targets:
            if t.is_dir():
                shutil.rmtree(t, ignore_errors=True)
                pruned.append(t)
            elif t.exists():
                t.unlink()
                pruned.append(t)
    return pruned
