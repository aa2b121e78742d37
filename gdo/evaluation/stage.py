"""``gdo evaluate``: every checkpoint of every goal run x every benchmark of ``cfg.eval``.

Writes ``<work_dir>/eval/<run>/ckpt-<samples>/<benchmark>.jsonl`` (one prediction per
question) + ``<benchmark>.summary.json`` (the aggregate, counts, versions, key) and a
``manifest.json`` per checkpoint folder. Resumable: a (checkpoint, benchmark) whose
summary carries the same key is skipped; ``run.force=[evaluate]`` redoes everything.
The base model is evaluated as ``eval/base/ckpt-0`` (samples = 0 of every curve).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.benchmarks import GROUP_FIELDS, read_benchmark
from gdo.evaluation import time_control
from gdo.evaluation.aggregate import aggregate, score_predictions
from gdo.evaluation.checkpoints import BASE_RUN, Checkpoint, benchmark_specs, find_checkpoints
from gdo.evaluation.predict import Predictions, predict
from gdo.evaluation.prompts import EXTRACT_VERSION, PROMPT_VERSION
from gdo.evaluation.ranks import Ranks, join
from gdo.evaluation.suite_cache import SuiteCache
from gdo.utils.errors import ConfigError
from gdo.utils.io import atomic_write_json, atomic_write_with, read_json
from gdo.utils.manifest import content_hash, file_hash, is_fresh, to_plain, write_manifest
from gdo.utils.progress import progress
from gdo.utils.stage import base_model_path, stage_dir, work_dir, world_dir

log = logging.getLogger(__name__)


def load_benchmarks(cfg: Any) -> dict[str, tuple[dict[str, Any], pd.DataFrame, str]]:
    """name -> (spec, questions, content key) for every benchmark of ``cfg.eval``."""
    out = {}
    for spec in benchmark_specs(cfg, world_dir(cfg)):
        df = read_benchmark(
            spec["path"],
            spec["kind"],
            spec.get("media_root"),
            media_map=spec.get("media_map") or {},
            frame_subtasks=spec.get("frame_subtasks") or [],
        )
        if spec.get("limit"):
            df = df.head(int(spec["limit"])).reset_index(drop=True)
        out[spec["name"]] = (spec, df, _questions_key(Path(spec["path"]), spec, df))
    return out


def _questions_key(path: Path, spec: dict[str, Any], df: pd.DataFrame) -> str:
    layout = df.attrs.get("layout")
    if layout:  # a folder: the question files read_benchmark found in it
        files = [Path(layout["root"]) / f for f in layout["question_files"]]
    else:
        files = [path]
    return content_hash(spec, [(f.name, file_hash(f)) for f in files if f.is_file()])


def base_checkpoint(cfg: Any) -> Checkpoint | None:
    """The base model as samples=0: ``eval.base_path``, else ``model.path``, else
    ``<work_dir>/base_model`` when that folder exists (None otherwise)."""
    path = base_model_path(cfg, cfg.eval.base_path, required=False)
    if path is None:
        return None
    # A configured path may be a hub id (no local folder); load_model resolves it.
    return Checkpoint(BASE_RUN, BASE_RUN, int(cfg.seed), 0, 0, Path(path).expanduser())


def eval_model_conf(cfg: Any) -> Any:
    """``cfg.model`` with the evaluation's frame count (``eval.frames``) when one is set."""
    model = cfg.model.copy()
    if cfg.eval.get("frames"):
        model.frames = int(cfg.eval.frames)
    return model


def _scoring_conf(cfg: Any) -> dict[str, Any]:
    from gdo.models.config import model_key

    e = cfg.eval
    return {
        "mode": e.mode,
        "likelihood_target": e.likelihood_target,
        "max_new_tokens": int(e.max_new_tokens),
        "model": model_key(eval_model_conf(cfg)),
        "prompt_version": PROMPT_VERSION,
        "extract_version": EXTRACT_VERSION,
        "time_control": time_control.check(str(e.time_control)),
    }


def select_checkpoints(checkpoints: list[Checkpoint], which: str) -> list[Checkpoint]:
    """``eval.checkpoints``: every checkpoint (``all``) or each run's last (``final``)."""
    if which == "all":
        return checkpoints
    if which != "final":
        raise ConfigError(f"eval.checkpoints: expected all or final, got {which!r}")
    last: dict[str, Checkpoint] = {}
    for ck in checkpoints:
        if ck.run not in last or ck.samples > last[ck.run].samples:
            last[ck.run] = ck
    return [ck for ck in checkpoints if last[ck.run] is ck]


def _ckpt_key(ck: Checkpoint) -> str:
    # The trainer's state (or the base model's manifest) changes whenever the weights do.
    marks = [f for f in ("gdo_state.json", "manifest.json") if (ck.path / f).is_file()]
    return content_hash(str(ck.path), ck.samples, [file_hash(ck.path / f) for f in marks])


def _predict(
    vlm: Any,
    ck: Checkpoint,
    name: str,
    benchmarks: dict,
    cfg: Any,
    cache: SuiteCache | None,
    ranks: Ranks,
) -> Predictions | None:
    """``predict`` on this rank's questions of one suite (inputs from ``cache`` when it holds
    them); every rank's answers merged in row order on rank 0, None on the others."""
    spec, questions, _ = benchmarks[name]
    n = len(questions)
    if ranks.world > 1:
        questions = questions.iloc[ranks.rows(n)].reset_index(drop=True)
    suite = None
    if cache is not None:
        suite = cache.get(name, questions, spec["kind"], vlm, processor_key(ck.path))
    kwargs = {
        "batch_size": int(cfg.eval.batch_size),
        "max_new_tokens": int(cfg.eval.max_new_tokens),
        "likelihood_target": cfg.eval.likelihood_target,
        "desc": f"{ck.run} ckpt-{ck.samples} {name}",
        "time_control": str(cfg.eval.time_control),
    }
    if suite is None:
        part = predict(vlm, questions, spec["kind"], cfg.eval.mode, **kwargs)
        return ranks.gather(part, n)
    # The suite's prompts were processed once; this checkpoint only runs the model. Vision
    # features are not kept across batches (each question is scored once).
    reuse_vision, vlm.reuse_vision = vlm.reuse_vision, False
    try:
        with vlm.reuse_encodings(suite.encodings):
            part = predict(
                vlm, questions, spec["kind"], cfg.eval.mode, samples=suite.samples, **kwargs
            )
    finally:
        vlm.reuse_vision = reuse_vision
    return ranks.gather(part, n)


def processor_key(path: Path) -> str:
    """Identity of a checkpoint's processor (its files; the path for a hub id)."""
    from gdo.models.files import PROCESSOR_FILES

    files = sorted(
        f for pattern in PROCESSOR_FILES for f in Path(path).glob(pattern) if f.is_file()
    )
    return content_hash([(f.name, file_hash(f)) for f in files]) if files else str(path)


def evaluate_checkpoint(
    vlm: Any,
    ck: Checkpoint,
    benchmarks: dict,
    cfg: Any,
    out: Path,
    todo: list[str],
    cache: SuiteCache | None = None,
    ranks: Ranks | None = None,
) -> dict[str, dict[str, Any]]:
    """Evaluate one loaded model on the benchmarks named in ``todo``; write their files.

    ``cache``: suite inputs (frames, prompt encodings) shared by every checkpoint;
    ``ranks``: the evaluating processes (each scores its questions, rank 0 writes)."""
    ranks = ranks or Ranks()
    summaries = {}
    for name in todo:
        spec, questions, qkey = benchmarks[name]
        kind = spec["kind"]
        preds = _predict(vlm, ck, name, benchmarks, cfg, cache, ranks)
        if preds is None:
            continue  # another rank writes
        result = aggregate(questions, preds.answers, kind)
        scored = score_predictions(questions, preds.answers)
        scored["answer_letter"] = questions["answer_letter"].to_numpy()
        scored["skipped"] = preds.skipped
        scored["option_scores"] = preds.option_scores
        for f in GROUP_FIELDS[kind]:
            if f in questions.columns:
                scored[f] = questions[f].astype(str).to_numpy()
        atomic_write_with(
            out / f"{name}.jsonl",
            lambda tmp, s=scored: s.to_json(tmp, orient="records", lines=True, force_ascii=False),
        )
        result.update(
            benchmark=name,
            goal=ck.goal,
            run=ck.run,
            seed=ck.seed,
            samples=ck.samples,
            budget=ck.budget,
            checkpoint=str(ck.path),
            mode=cfg.eval.mode,
            counts=preds.counts,
            variants=questions.attrs.get("variants", {}),
            layout=questions.attrs.get("layout"),  # what was found in a dataset folder
            key=content_hash(_scoring_conf(cfg), qkey, _ckpt_key(ck)),
        )
        atomic_write_json(out / f"{name}.summary.json", result)
        summaries[name] = result
    return summaries


def _fresh(out: Path, name: str, key: str) -> bool:
    path = out / f"{name}.summary.json"
    if not path.exists() or not (out / f"{name}.jsonl").exists():
        return False
    try:
        return read_json(path).get("key") == key
    except (OSError, ValueError):
        return False


def run(cfg: Any, load: Callable[[Any, str], Any] | None = None) -> Path:
    """Evaluate every checkpoint on every benchmark; return the ``eval`` folder.

    ``load(model_cfg, path) -> VLM`` defaults to ``gdo.models.load_model`` on
    ``model.device``. Under torchrun every rank scores its share of each suite's questions
    (``gdo.evaluation.ranks``); rank 0 writes everything.
    """
    import time

    import torch

    from gdo.models.device import resolve_device

    torch.set_num_threads(max(1, int(cfg.eval.threads)))
    model_cfg = eval_model_conf(cfg)
    device = resolve_device(model_cfg.get("device", "auto"))
    if load is None:
        from gdo.models import load_model

        load = functools.partial(load_model, device=device)
    ranks = join(device)
    start, cpu = time.perf_counter(), time.process_time()
    root = stage_dir(cfg, "eval")
    benchmarks = load_benchmarks(cfg)
    checkpoints, unfinished = find_checkpoints(
        work_dir(cfg), list(cfg.eval.goals) or None, int(cfg.seed)
    )
    checkpoints = select_checkpoints(checkpoints, str(cfg.eval.checkpoints))
    base = base_checkpoint(cfg) if cfg.eval.include_base else None
    if base is not None:
        checkpoints = [base, *checkpoints]
    force = "evaluate" in (cfg.get("run", {}) or {}).get("force", [])
    scoring = _scoring_conf(cfg)
    counts = {
        "checkpoints": len(checkpoints),
        "unfinished_checkpoints": len(unfinished),
        "evaluated": 0,
        "skipped_fresh": 0,
        "ranks": ranks.world,
    }
    cache = SuiteCache(float(cfg.eval.cache_mb), time_control=str(cfg.eval.time_control))
    bar = progress(total=len(checkpoints) * len(benchmarks), desc="evaluate", unit="eval")
    for ck in checkpoints:
        out = root / ck.run / ck.eval_dir_name
        keys = {n: content_hash(scoring, b[2], _ckpt_key(ck)) for n, b in benchmarks.items()}
        todo = None
        if ranks.main:
            todo = [n for n in benchmarks if force or not _fresh(out, n, keys[n])]
        todo = ranks.broadcast(todo)
        counts["skipped_fresh"] += len(benchmarks) - len(todo)
        if todo:
            vlm = load(model_cfg, str(ck.path))
            evaluate_checkpoint(vlm, ck, benchmarks, cfg, out, todo, cache, ranks)
            del vlm
            counts["evaluated"] += len(todo)
        bar.update(len(benchmarks))
        if not ranks.main or (not todo and is_fresh(out, content_hash(keys))):
            continue  # another rank writes, or nothing new: the manifest stays as it is
        write_manifest(
            out,
            stage="evaluate",
            key=content_hash(keys),
            config=to_plain(cfg.eval),
            inputs={"checkpoint": str(ck.path), **{n: b[2] for n, b in benchmarks.items()}},
            counts=_ckpt_counts(out, list(benchmarks)),
            seed=ck.seed,
            extra={"goal": ck.goal, "run": ck.run, "samples": ck.samples},
        )
    bar.close()
    ranks.barrier()
    if not ranks.main:
        return root
    counts.update({f"cache/{k}": v for k, v in cache.counts.items()})
    for name, (_spec, df, _) in benchmarks.items():
        counts[f"questions/{name}"] = len(df)
        counts[f"video_missing/{name}"] = int(df["video_missing"].sum())
    if unfinished:
        log.warning(
            "evaluate: %d checkpoints without gdo_state.json skipped: %s",
            len(unfinished),
            ", ".join(unfinished[:5]),
        )
    atomic_write_json(
        root / "eval_summary.json",
        {
            "counts": counts,
            # Rank 0's wall and CPU seconds for this call (model loading included).
            "seconds": {
                "wall": round(time.perf_counter() - start, 3),
                "cpu_rank0": round(time.process_time() - cpu, 3),
            },
            "unfinished": unfinished,
            "scoring": scoring,
            "benchmarks": {n: b[0] for n, b in benchmarks.items()},
            "layouts": {n: b[1].attrs.get("layout") for n, b in benchmarks.items()},
        },
    )
    _log(cfg, root, list(benchmarks))
    return root


def _ckpt_counts(out: Path, names: list[str]) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for name in names:
        p = out / f"{name}.summary.json"
        if p.exists():
            s = read_json(p)
            counts[name] = {k: s.get(k) for k in ("n", "n_answered", "n_video_missing")}
            counts[name]["overall"] = s.get("overall")
            # Batches retried at half the size after running out of memory.
            counts[name]["oom_backoffs"] = (s.get("counts") or {}).get("oom_backoffs", 0)
    return counts


def _log(cfg: Any, root: Path, names: list[str]) -> None:
    from gdo.logging import get_logger

    rows = [read_json(p) for p in sorted(root.glob("*/ckpt-*/*.summary.json"))]
    if not rows:
        return
    logger = get_logger(cfg, job_type="evaluate")
    table = pd.DataFrame(
        [
            {
                k: r.get(k)
                for k in (
                    "goal",
                    "run",
                    "seed",
                    "samples",
                    "benchmark",
                    "overall",
                    "n",
                    "n_answered",
                    "n_video_missing",
                    "mode",
                )
            }
            for r in rows
        ]
    )
    logger.log_table("eval/results", table)
    logger.finish()
