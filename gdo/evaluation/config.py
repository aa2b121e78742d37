"""Schema of ``conf/eval/*.yaml`` (benchmarks, scoring mode, frontier). Owned by gdo.evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BenchmarkConf:
    """One benchmark suite: where its question file is and how to read it."""

    # The name used in output files and the frontier table (e.g. mvbench, videomme).
    name: str = ""
    # A registered benchmark kind (gdo.benchmarks.kinds): mvbench | videomme | mlvu |
    # lvbench | custom, or one a plugin registers
    kind: str = "mvbench"
    # A question file (json / jsonl / parquet), a folder of them, or the dataset's folder as
    # downloaded (MVBench/, Video-MME/, MLVU_Test/, LVBench/: its files are found).
    path: str = ""
    # Folder the video paths resolve against; null = the question file's folder (a
    # dataset folder: the media folders found in it).
    media_root: str | None = None
    # MVBench only: subtask -> video folder under media_root (default: the subtask name;
    # in a dataset folder, also the release's source folders).
    media_map: dict[str, str] = field(default_factory=dict)
    # MVBench only: subtasks whose "video" is a folder of frames (tvqa's episodic_reasoning).
    frame_subtasks: list[str] = field(default_factory=list)
    # Evaluate only the first N questions (smoke runs); null = all.
    limit: int | None = None
    # Task name of this suite in lmms-eval (mvbench, videomme, mlvu_test, lvbench).
    lmms_eval_task: str | None = None


@dataclass
class FrontierConf:
    """How ``gdo frontier`` compares goals with the baseline."""

    # The goal whose final accuracy every other goal is compared with (Uni-Nx).
    baseline: str = "uniform"
    # Paired bootstrap over questions: resamples and confidence level.
    n_bootstrap: int = 2000
    ci: float = 0.95
    seed: int = 0
    # auto: log-x when the positive training-sample counts span more than a decade.
    log_x: str = "auto"  # auto | on | off
    # Group field of each benchmark kind shown in the subtask table / heatmap.
    subtask_fields: dict[str, str] = field(
        default_factory=lambda: {
            "mvbench": "subtask",
            "videomme": "task_type",
            "mlvu": "task_type",
            "lvbench": "question_type",
            "custom": "subtask",
        }
    )
    # Draw the PNGs (matplotlib takes seconds per figure on a busy CPU; sweeps may skip).
    plots: bool = True
    # Also read lmms-eval results under <work_dir>/lmms_eval (gdo.frontier.import_lmms_eval).
    include_lmms_eval: bool = True
    # Pooled pseudo-benchmarks (gdo.frontier.pooled): name -> {} for every question of every
    # suite, or {tag: <column>} for the questions tagged true in ``question_tags``.
    pools: dict[str, Any] = field(default_factory=lambda: {"all": {}})
    # Table of per-question tags (benchmark, qid, <tag>...); the world writes one.
    question_tags: str | None = None


@dataclass
class EvalConf:
    """What ``gdo evaluate`` scores, and how."""

    name: str = "world"
    benchmarks: list[BenchmarkConf] = field(default_factory=list)
    # likelihood: highest option log-prob (fast, deterministic; the CPU default)
    # generate: greedy answer + letter extraction (the harness protocol)
    mode: str = "likelihood"
    # What score_options scores as the answer: text | letter | both ("A. text")
    likelihood_target: str = "text"
    max_new_tokens: int = 16
    # Frames per video at evaluation (the paper: 32); null = model.frames.
    frames: int | None = None
    # Questions per model call.
    batch_size: int = 16
    # Evaluate the base model as samples=0 of every goal's curve.
    include_base: bool = True
    # The base model folder; null = model.path, else <work_dir>/base_model.
    base_path: str | None = None
    # Goal runs to evaluate (folders under <work_dir>/train); empty = every one found.
    goals: list[str] = field(default_factory=list)
    # torch threads while evaluating (2 shared cores: 1 is fastest here).
    threads: int = 1
    # Memory (MB) for benchmark inputs kept across checkpoints: each suite's frames are
    # decoded and its prompts processed once (gdo.evaluation.suite_cache); a suite that
    # does not fit is decoded per checkpoint. 0 = off.
    cache_mb: float = 2048.0
    # Control: score the clips as given (none), reversed in time, or frozen on their first
    # frame (gdo.evaluation.time_control); part of every result's key.
    time_control: str = "none"
    # Checkpoints to evaluate: every one of each run (all), or each run's last (final).
    checkpoints: str = "all"
    frontier: FrontierConf = field(default_factory=FrontierConf)
