"""lmms-eval interop: export every checkpoint as an lmms-eval job, import its results.

``export_lmms_eval(cfg)`` writes ``<work_dir>/lmms_eval/jobs.json`` (one entry per
checkpoint) and ``run_lmms_eval.sh`` (one ``accelerate launch -m lmms_eval`` command per
checkpoint, skipped when its results exist). The commands carry gdo's protocol: frames
per video (``eval.frames``, else ``model.frames``), the per-frame pixel budget
(``model.max_pixels`` / ``min_pixels``) and ``eval.max_new_tokens``; left out, the
harness would use its own defaults (12-32x the pixels). The frontier reads the results
back (:mod:`gdo.frontier.lmms_eval`, ``import_lmms_eval``). See docs/LMMS_EVAL.md.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from gdo.evaluation.checkpoints import Checkpoint, benchmark_specs, find_checkpoints
from gdo.utils.errors import ConfigError, InputError
from gdo.utils.io import atomic_write_json, atomic_write_text

# lmms-eval task -> (metric key in its results JSON, value is a 0-1 fraction)
METRICS: dict[str, tuple[str, bool]] = {
    "mvbench": ("mvbench_accuracy", False),
    "videomme": ("videomme_perception_score", False),
    "mlvu_test": ("mlvu_percetion_score", False),  # sic: the harness's spelling
    "mlvu_dev": ("mlvu_percetion_score", False),
    "mlvu": ("mlvu_percetion_score", False),
    "lvbench": ("lvbench_score", True),  # a mean of 0/1: printed as a fraction
}
DEFAULT_TASKS = {
    "mvbench": "mvbench",
    "videomme": "videomme",
    "mlvu": "mlvu_test",
    "lvbench": "lvbench",
}


# The harness's own defaults for what gdo sets (its qwen2_vl / qwen3_vl model classes).
HARNESS_DEFAULTS: dict[str, dict[str, Any]] = {
    "qwen2_vl": {"max_pixels": 602112, "min_pixels": 3136, "max_num_frames": 32},
    "qwen3_vl": {"max_pixels": 1605632, "min_pixels": 200704, "max_num_frames": 32},
}
HARNESS_SYSTEM_PROMPT = "You are a helpful assistant."
TASK_MAX_NEW_TOKENS = 16  # generation_kwargs of the four tasks' yaml files


def lmms_model_name(model_name: str) -> str:
    """The lmms-eval model class for a gdo model config name (qwen3_vl or qwen2_vl)."""
    return "qwen3_vl" if "qwen3" in model_name.lower() else "qwen2_vl"


def protocol_args(model_cfg: Any, model: str, frames: int) -> dict[str, Any]:
    """The ``--model_args`` that make the harness see what gdo's evaluation sees.

    ``max_num_frames`` = ``frames``; ``max_pixels`` = ``model.max_pixels`` per frame;
    ``min_pixels`` = ``model.min_pixels`` or the harness's default, never above
    ``max_pixels`` (Qwen3-VL's default minimum, 200704, would otherwise enlarge frames past
    gdo's budget); ``system_prompt`` when gdo's differs from the harness's.
    """
    max_pixels = int(model_cfg.max_pixels)
    floor = model_cfg.get("min_pixels") or HARNESS_DEFAULTS.get(model, {}).get("min_pixels")
    args: dict[str, Any] = {"max_num_frames": int(frames), "max_pixels": max_pixels}
    if floor is not None:
        args["min_pixels"] = min(int(floor), max_pixels)
    prompt = model_cfg.get("system_prompt")
    if prompt and prompt != HARNESS_SYSTEM_PROMPT:
        if any(c in prompt for c in ",=\n"):
            raise ConfigError(
                f"model.system_prompt={prompt!r}: lmms-eval's --model_args cannot carry ',', "
                "'=' or a newline; use the harness's default prompt or pass it by hand"
            )
        args["system_prompt"] = prompt
    return args


def lmms_eval_command(
    checkpoint: str | Path,
    tasks: list[str],
    output_path: str | Path,
    *,
    model: str = "qwen2_vl",
    frames: int = 32,
    model_args: dict[str, Any] | None = None,
    max_new_tokens: int | None = None,
    num_processes: int = 8,
    suffix: str = "gdo",
) -> str:
    """One ``accelerate launch -m lmms_eval`` command (greedy, ``frames`` frames per video,
    ``model_args`` such as :func:`protocol_args`, samples logged)."""
    extra = {"max_num_frames": frames, **(model_args or {})}
    margs = ",".join([f"pretrained={checkpoint}", *(f"{k}={v}" for k, v in extra.items())])
    args = [
        "accelerate", "launch", f"--num_processes={num_processes}", "-m", "lmms_eval",
        "--model", model,
        "--model_args", margs,
        "--tasks", ",".join(tasks),
        "--batch_size", "1",
    ]  # fmt: skip
    if max_new_tokens is not None:
        args += ["--gen_kwargs", f"max_new_tokens={int(max_new_tokens)}"]
    args += ["--log_samples", "--log_samples_suffix", suffix, "--output_path", str(output_path)]
    return " ".join(shlex.quote(str(a)) for a in args)


def export_lmms_eval(
    cfg: Any,
    out_dir: str | Path | None = None,
    *,
    model: str | None = None,
    frames: int | None = None,
    num_processes: int = 8,
) -> Path:
    """Write the lmms-eval jobs of every checkpoint; return the shell script's path.

    ``frames`` defaults to gdo's own evaluation (``eval.frames``, else ``model.frames``);
    the pixel budget and ``max_new_tokens`` come from ``cfg`` (:func:`protocol_args`).
    """
    from gdo.evaluation.stage import base_checkpoint, eval_model_conf
    from gdo.utils.stage import work_dir, world_dir

    work = work_dir(cfg)
    out = Path(out_dir) if out_dir else work / "lmms_eval"
    specs = benchmark_specs(cfg, world_dir(cfg))
    tasks = [s.get("lmms_eval_task") or DEFAULT_TASKS.get(s["kind"]) for s in specs]
    if not all(tasks):
        bad = specs[tasks.index(None)]["name"]
        raise InputError(None, f"eval.benchmarks '{bad}'", "lmms_eval_task", "an lmms-eval task")
    found, _ = find_checkpoints(work, list(cfg.eval.goals) or None, int(cfg.seed))
    base = base_checkpoint(cfg) if cfg.eval.include_base else None
    checkpoints: list[Checkpoint] = ([base] if base else []) + found
    model = model or lmms_model_name(str(cfg.model.name))
    model_cfg = eval_model_conf(cfg)
    frames = int(frames or model_cfg.frames)
    margs = protocol_args(model_cfg, model, frames)
    max_new_tokens = int(cfg.eval.max_new_tokens)
    jobs, lines = (
        [],
        ["#!/usr/bin/env bash", "# lmms-eval on every gdo checkpoint.", "set -euo pipefail", ""],
    )
    for ck in checkpoints:
        dest = out / ck.run / ck.eval_dir_name
        cmd = lmms_eval_command(
            ck.path.resolve() if ck.path.exists() else ck.path,
            tasks,
            dest,
            model=model,
            frames=frames,
            model_args=margs,
            max_new_tokens=max_new_tokens,
            num_processes=num_processes,
            suffix=f"{ck.run}_{ck.eval_dir_name}",
        )
        jobs.append(
            {
                "run": ck.run,
                "goal": ck.goal,
                "seed": ck.seed,
                "samples": ck.samples,
                "budget": ck.budget,
                "checkpoint": str(ck.path),
                "tasks": tasks,
                "output_path": str(dest),
                "command": cmd,
            }
        )
        q = shlex.quote(str(dest))
        lines += [
            f"if find {q} -name '*results*.json' 2>/dev/null | grep -q .; then",
            f"  echo 'skip {ck.run}/{ck.eval_dir_name} (results exist)'",
            "else",
            f"  {cmd}",
            "fi",
        ]
    protocol = {"model_args": margs, "max_new_tokens": max_new_tokens}
    atomic_write_json(
        out / "jobs.json",
        {
            "model": model,
            "frames": frames,
            "protocol": protocol,
            "benchmarks": [s["name"] for s in specs],
            "jobs": jobs,
        },
    )
    script = atomic_write_text(out / "run_lmms_eval.sh", "\n".join(lines) + "\n")
    script.chmod(0o755)
    return script
