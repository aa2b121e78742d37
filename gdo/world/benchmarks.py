"""The four held-out suites in their real schemas (docs/FORMATS.md).

MVBench: one JSON per subtask ``{video, question, candidates, answer: text}``;
Video-MME: a parquet with every column of the real file, options ``A. ...``, answer letter;
MLVU (test): ``(A) ...`` lines in the question, up to six options, answer letter;
LVBench: JSONL, ``(A) ...`` lines, answer letter, ``type`` / ``question_type`` /
``time_reference`` / ``uid`` / ``key``. ``benchmarks/index.json`` lists the four.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.utils.errors import ConfigError
from gdo.utils.io import atomic_write_json, atomic_write_parquet, atomic_write_text
from gdo.utils.progress import progress
from gdo.world.bench_clips import BALANCE_MODES, BenchQuestion, ClipMaker, time_reference
from gdo.world.config import WorldConf
from gdo.world.formats import dotted, parenthesised

MVBENCH_QTYPE = {
    "action_sequence": "appearance_order",
    "action_localization": "appearance_order",
    "state_change": "state_change",
    "moving_count": "moving_count",
    "moving_direction": "motion_direction",
    "object_existence": "existence",
    "moving_attribute": "colour",
    "action_count": "count",
}
VIDEOMME_TASK = {
    "appearance_order": "Temporal Reasoning",
    "state_change": "Temporal Perception",
    "moving_count": "Counting Problem",
    "motion_direction": "Action Recognition",
    "colour": "Attribute Perception",
    "count": "Counting Problem",
    "existence": "Object Recognition",
}
VIDEOMME_DOMAIN = {
    "sequence": "Life Record",
    "change": "Artistic Performance",
    "motion": "Sports Competition",
    "static": "Knowledge",
}
MLVU_QTYPE = {
    "order": "appearance_order",
    "plotQA": "state_change",
    "count": "moving_count",
    "anomaly_reco": "motion_direction",
    "needleQA": "colour",
    "topic_reasoning": "count",
}
LVBENCH_QUESTION_TYPE = {
    "appearance_order": "temporal grounding",
    "state_change": "event understanding",
    "moving_count": "reasoning",
    "motion_direction": "event understanding",
    "colour": "entity recognition",
    "count": "summarization",
    "existence": "key information retrieval",
}
LVBENCH_TYPE = {
    "sequence": "cartoon",
    "change": "documentary",
    "motion": "sport",
    "static": "selfmedia",
}
SUITES = ("mvbench", "videomme", "mlvu", "lvbench")


def build_benchmarks(
    cfg: WorldConf, world_dir: Path, forbidden: set[str], counts: Counter
) -> tuple[list[dict[str, str]], list[dict[str, Any]], list]:
    """Write the four suites under ``world_dir/benchmarks``.

    Returns the index entries, one truth row per question and the written videos
    ``(path, n_frames)``. ``forbidden`` (clip content hashes) grows with every clip drawn.
    """
    root = world_dir / "benchmarks"
    b = cfg.benchmarks
    _check_suites(b)
    index: list[dict[str, str]] = []
    truth: list[dict[str, Any]] = []
    videos: list[tuple[Path, int]] = []
    builders = (_mvbench, _videomme, _mlvu, _lvbench)
    for i, (name, build) in enumerate(zip(SUITES, builders)):
        rng = np.random.default_rng([cfg.seed, cfg.benchmarks.seed_offset, i])
        maker = ClipMaker(
            rng, cfg.scene, forbidden, cfg.codec, counts, cfg.question_variants, b.balance
        )
        entry, rows = build(cfg, root, maker)
        index.append({"name": name, "kind": name, **entry})
        for r in rows:
            r["benchmark"] = name
        truth += rows
        videos += maker.videos
        counts[f"benchmark:{name}"] = len(rows)
    atomic_write_json(root / "index.json", index)
    return index, truth, videos


def _check_suites(b) -> None:
    """Fail early, naming the ``world.benchmarks`` key, on unknown question or task types."""
    known = set(VIDEOMME_TASK)
    for key, values, allowed in (
        ("mvbench_subtasks", b.mvbench_subtasks, set(MVBENCH_QTYPE)),
        ("videomme_qtypes", b.videomme_qtypes, known),
        ("mlvu_tasks", b.mlvu_tasks, set(MLVU_QTYPE)),
        ("lvbench_qtypes", b.lvbench_qtypes, known),
    ):
        unknown = [v for v in values if v not in allowed]
        if unknown or not values:
            raise ConfigError(
                f"world.benchmarks.{key}: expected a non-empty list of {sorted(allowed)}, "
                f"got {list(values)}"
            )
    if b.balance not in BALANCE_MODES:
        raise ConfigError(
            f"world.benchmarks.balance: expected one of {BALANCE_MODES}, got {b.balance}"
        )


def _truth(
    qid: str, q: BenchQuestion, video: Path, root: Path, n_frames: int, group: str
) -> dict[str, Any]:
    """One row of ``benchmarks/truth.parquet`` (video relative to the world folder)."""
    return {
        "qid": qid,
        "qtype": q.qa.qtype,
        "temporal": q.qa.temporal,
        "answer": q.qa.answer,
        "answer_letter": q.letter,
        "n_options": len(q.options),
        "video": str(video.relative_to(root.parent)),
        "n_frames": n_frames,
        "group": group,
    }


def _frames(cfg: WorldConf, kind: str) -> tuple[int, int]:
    short, long = cfg.scene.short_frames, cfg.scene.long_frames
    return {
        "short": (short[0], short[1]),
        "medium": (max(short[1], long[0] // 2), long[0]),
        "long": (long[0], long[1]),
    }[kind]


def _mvbench(cfg: WorldConf, root: Path, maker: ClipMaker):
    b = cfg.benchmarks
    rows = []
    for sub in b.mvbench_subtasks:
        records = []
        for j in progress(range(b.mvbench_per_subtask), desc=f"mvbench {sub}", unit="q"):
            clip, pixels, (q,) = maker.draw(
                MVBENCH_QTYPE[sub], _frames(cfg, "short"), cfg.n_options
            )
            name = f"{sub}_{j:04d}.mp4"
            path = root / "mvbench" / "video" / sub / name
            maker.write(path, pixels, (5.0, 30.0))
            records.append(
                {
                    "video": name,
                    "question": q.qa.question,
                    "candidates": q.options,
                    "answer": q.qa.answer,
                }
            )
            rows.append(_truth(f"{sub}/{j}", q, path, root, clip.n_frames, sub))
        atomic_write_json(root / "mvbench" / "json" / f"{sub}.json", records)
    return {"path": "benchmarks/mvbench/json", "media_root": "benchmarks/mvbench/video"}, rows


def _video_id(rng: np.random.Generator) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), size=11))


def _videomme(cfg: WorldConf, root: Path, maker: ClipMaker):
    b = cfg.benchmarks
    durations = {"short": (10.0, 60.0), "medium": (60.0, 240.0), "long": (240.0, 600.0)}
    qtypes = list(b.videomme_qtypes)
    out, rows = [], []
    for v in progress(range(b.videomme_videos), desc="videomme", unit="video"):
        dur = ("short", "medium", "long")[v % 3]
        qtype = qtypes[v % len(qtypes)]
        clip, pixels, qs = maker.draw(
            qtype,
            _frames(cfg, dur),
            4,
            extra=b.videomme_questions_per_video - 1,
            min_space=4,
            extra_types=tuple(qtypes),
        )
        vid = _video_id(maker.rng)
        path = root / "videomme" / "data" / f"{vid}.mp4"
        maker.write(path, pixels, durations[dur])
        video_id = f"{v + 1:03d}"
        for k, q in enumerate(qs):
            qid = f"{video_id}-{k + 1}"
            out.append(
                {
                    "video_id": video_id,
                    "duration": dur,
                    "domain": VIDEOMME_DOMAIN[clip.scenario],
                    "sub_category": f"{len(clip.objects)} shapes",
                    "url": f"https://www.youtube.com/watch?v={vid}",
                    "videoID": vid,
                    "question_id": qid,
                    "task_type": VIDEOMME_TASK[q.qa.qtype],
                    "question": q.qa.question,
                    "options": dotted(q.options),
                    "answer": q.letter,
                }
            )
            rows.append(_truth(qid, q, path, root, clip.n_frames, dur))
    atomic_write_parquet(root / "videomme" / "videomme.parquet", pd.DataFrame(out))
    return {
        "path": "benchmarks/videomme/videomme.parquet",
        "media_root": "benchmarks/videomme/data",
    }, rows


def _mlvu(cfg: WorldConf, root: Path, maker: ClipMaker):
    b = cfg.benchmarks
    lo, hi = b.mlvu_options
    if not 2 <= lo <= hi <= 6:
        raise ConfigError(f"world.benchmarks.mlvu_options: need 2 <= lo <= hi <= 6, got {lo}..{hi}")
    tasks = list(b.mlvu_tasks)
    out, rows = [], []
    for j in progress(range(b.mlvu), desc="mlvu", unit="q"):
        task = tasks[j % len(tasks)]
        n_opts = int(maker.rng.integers(lo, hi + 1))
        clip, pixels, (q,) = maker.draw(MLVU_QTYPE[task], _frames(cfg, "long"), n_opts)
        name = f"{task}_{j:04d}.mp4"
        path = root / "mlvu" / "video" / name
        duration = maker.write(path, pixels, (180.0, 600.0))
        qid = f"mlvu_{j:04d}"
        out.append(
            {
                "video_name": name,
                "duration": round(duration, 2),
                "question": "\n".join([q.qa.question, *parenthesised(q.options)]),
                "candidates": q.options,
                "answer": q.letter,
                "task_type": task,
                "question_id": qid,
            }
        )
        rows.append(_truth(qid, q, path, root, clip.n_frames, task))
    atomic_write_json(root / "mlvu" / "test.json", out)
    return {"path": "benchmarks/mlvu/test.json", "media_root": "benchmarks/mlvu/video"}, rows


def _lvbench(cfg: WorldConf, root: Path, maker: ClipMaker):
    b = cfg.benchmarks
    qtypes = list(b.lvbench_qtypes)
    lines, rows = [], []
    for v in progress(range(b.lvbench_videos), desc="lvbench", unit="video"):
        clip, pixels, qs = maker.draw(
            qtypes[v % len(qtypes)],
            tuple(b.lvbench_frames),
            4,
            extra=b.lvbench_questions_per_video - 1,
            min_space=4,
            extra_types=tuple(qtypes),
        )
        key = f"lv{v:05d}"
        path = root / "lvbench" / "video" / f"{key}.mp4"
        duration = maker.write(path, pixels, (400.0, 640.0))
        for k, q in enumerate(qs):
            uid = f"{key}_{k}"
            lines.append(
                json.dumps(
                    {
                        "uid": uid,
                        "key": key,
                        "video_path": f"{key}.mp4",
                        "type": LVBENCH_TYPE[clip.scenario],
                        "question": "\n".join([q.qa.question, *parenthesised(q.options)]),
                        "answer": q.letter,
                        "question_type": [LVBENCH_QUESTION_TYPE[q.qa.qtype]],
                        "time_reference": time_reference(clip, q.qa, duration),
                    }
                )
            )
            rows.append(
                _truth(uid, q, path, root, clip.n_frames, LVBENCH_QUESTION_TYPE[q.qa.qtype])
            )
    atomic_write_text(root / "lvbench" / "lvbench.jsonl", "\n".join(lines) + "\n")
    return {
        "path": "benchmarks/lvbench/lvbench.jsonl",
        "media_root": "benchmarks/lvbench/video",
    }, rows
