"""Find the checkpoints to evaluate and the benchmarks to evaluate them on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdo.utils.errors import InputError

STATE = "gdo_state.json"
_CKPT = re.compile(r"^ckpt-(\d+)$")
BASE_RUN = "base"


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint of one goal run (``train/<run>/checkpoints/ckpt-<samples>/``)."""

    run: str  # the folder under train/ (also the folder under eval/)
    goal: str
    seed: int
    samples: int
    budget: int | None
    path: Path

    @property
    def eval_dir_name(self) -> str:
        """``ckpt-<samples>``, the folder of its results under ``eval/<run>/``."""
        return f"ckpt-{self.samples}"


def find_checkpoints(
    work_dir: Path, goals: list[str] | None = None, default_seed: int = 0
) -> tuple[list[Checkpoint], list[str]]:
    """Every finished checkpoint under ``work_dir/train/*/checkpoints/``.

    A checkpoint counts as finished when it has ``gdo_state.json`` (written last by the
    trainer) with ``samples``; the others are returned as the second list so the caller
    can report them. ``goal`` / ``seed`` / ``budget`` come from the state when present,
    else the run folder's name, ``default_seed`` and the run's largest checkpoint.
    """
    found: list[Checkpoint] = []
    unfinished: list[str] = []
    train = work_dir / "train"
    for run_dir in sorted(p for p in train.glob("*") if (p / "checkpoints").is_dir()):
        if goals and run_dir.name not in goals:
            continue
        runs: list[Checkpoint] = []
        for ck in sorted((run_dir / "checkpoints").iterdir()):
            m = _CKPT.match(ck.name)
            if not m or not ck.is_dir():
                continue
            state_path = ck / STATE
            if not state_path.exists():
                unfinished.append(str(ck))
                continue
            state = _read_state(state_path)
            runs.append(
                Checkpoint(
                    run=run_dir.name,
                    goal=str(state.get("goal") or run_dir.name),
                    seed=int(state.get("seed", default_seed)),
                    samples=int(state.get("samples", m.group(1))),
                    budget=int(state["budget"]) if state.get("budget") is not None else None,
                    path=ck,
                )
            )
        top = max((c.samples for c in runs), default=0)
        found += [c if c.budget is not None else _with_budget(c, top) for c in runs]
    found.sort(key=lambda c: (c.run, c.samples))
    return found, unfinished


def _with_budget(c: Checkpoint, budget: int) -> Checkpoint:
    return Checkpoint(c.run, c.goal, c.seed, c.samples, budget, c.path)


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(str(path), None, None, "a JSON object", reason=str(err)) from None
    if not isinstance(state, dict) or "samples" not in state:
        raise InputError(str(path), None, "samples", "the training samples seen (an int)")
    return state


def benchmark_specs(cfg: Any, world: Path) -> list[dict[str, Any]]:
    """The benchmarks of ``cfg.eval`` as plain dicts; empty -> ``<world>/benchmarks/index.json``."""
    from gdo.utils.manifest import to_plain

    specs = [dict(to_plain(b)) for b in cfg.eval.benchmarks]
    if not specs:
        index = world / "benchmarks" / "index.json"
        if not index.exists():
            raise InputError(
                str(index), None, None, "a benchmark index (or eval.benchmarks)", got="no file"
            )
        for i, entry in enumerate(json.loads(index.read_text(encoding="utf-8"))):
            for key in ("name", "kind", "path"):
                if key not in entry:
                    raise InputError(str(index), f"entry {i}", key, "name, kind and path")
            spec = dict(entry)
            # index paths are relative to the world folder
            for key in ("path", "media_root"):
                if spec.get(key) and not Path(spec[key]).is_absolute():
                    spec[key] = str(world / spec[key])
            specs.append(spec)
    names = [s["name"] for s in specs]
    if len(set(names)) != len(names):
        raise InputError(None, "eval.benchmarks", "name", "unique benchmark names", got=names)
    return specs
