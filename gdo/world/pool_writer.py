"""The training pool: LLaVA-Video-178K folders, LLaVA-OneVision image files, ground truth.

Each source draws clips, asks several questions per clip (at most 8, as the paper caps
QA per video) and injects the waste GDO should skip at the source's configured rates:
near-duplicates, answers leaked in the question, static clips with static questions and
wrong answers. ``truth.parquet`` records, per candidate, what each one really is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gdo.pool.schema import make_uid
from gdo.utils.errors import ConfigError
from gdo.utils.progress import progress
from gdo.world.config import DURATIONS, STATIC_QTYPES, SourceConf, WorldConf
from gdo.world.formats import MC_STYLES, conversation, llava_mc_answer, mc_question
from gdo.world.media_io import write_png, write_video
from gdo.world.questions import (
    QA,
    asked_as_mc,
    check_question_mix,
    check_question_variants,
    make_options,
    questions_for,
    wrong_answer,
)
from gdo.world.scene import Clip, check_scene, frames_hash, make_clip, render

# Seconds per LLaVA-Video duration folder.
DURATION_RANGE = {
    "0_30_s": (5.0, 30.0),
    "30_60_s": (30.0, 60.0),
    "1_2_m": (60.0, 120.0),
    "2_3_m": (120.0, 180.0),
}
SCENARIO_OF = {
    "appearance_order": "sequence",
    "state_change": "change",
    "moving_count": "motion",
    "motion_direction": "motion",
}
MAX_QA_PER_VIDEO = 8
WASTE_KINDS = ("duplicate", "leaked", "static", "wrong")
WRONG_STYLES = ("any", "contradicted")


@dataclass
class Item:
    """One QA turn as written: the question identity, its text, answer and waste kind."""

    qa: QA
    text: str
    answer: str
    waste: str
    options: list[str] = field(default_factory=list)
    style: str = "llava"  # its multiple-choice layout (formats.MC_STYLES)


@dataclass
class PoolOutput:
    """What the pool writer produced: files (relative path -> records) and truth rows."""

    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    mixture: list[dict[str, str]] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    videos: list[tuple[Path, int]] = field(default_factory=list)
    clip_hashes: set[str] = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)


def bucket_of(duration: str) -> str:
    """Candidate bucket of a duration folder: image, short_video or long_video."""
    if duration == "image":
        return "image"
    return "short_video" if duration in ("0_30_s", "30_60_s") else "long_video"


def source_name(src: SourceConf) -> str:
    """``{duration}_{name}`` for video sources, ``image_{name}`` for image sources."""
    return f"{src.duration}_{src.name}"


def check_source(src: SourceConf, i: int) -> None:
    """Fail early, naming the config key, on a source that cannot be generated."""
    where = f"world.sources[{i}]"
    if src.duration not in DURATIONS:
        raise ConfigError(f"{where}.duration: expected one of {DURATIONS}, got '{src.duration}'")
    if not 1 <= src.qa_min <= src.qa_max <= MAX_QA_PER_VIDEO:
        raise ConfigError(
            f"{where}: need 1 <= qa_min <= qa_max <= {MAX_QA_PER_VIDEO}, got "
            f"{src.qa_min}..{src.qa_max}"
        )
    w = src.waste
    rates = {k: getattr(w, k) for k in WASTE_KINDS}
    if (
        any(r < 0 for r in rates.values())
        or w.static >= 1.0
        or w.duplicate + w.leaked + w.wrong >= 1
    ):
        raise ConfigError(
            f"{where}.waste: rates must be >= 0, static < 1 and duplicate + leaked + wrong < 1, "
            f"got {rates}"
        )
    if src.duration == "image" and w.static > 0:
        raise ConfigError(
            f"{where}.waste.static: images have no static-video waste, got {w.static}"
        )
    check_question_mix(src.question_mix, f"{where}.question_mix")


def build_pool(cfg: WorldConf, media_dir: Path) -> PoolOutput:
    """Generate every source into ``media_dir`` and return records, mixture and truth."""
    out = PoolOutput()
    check_scene(cfg.scene)
    if not 2 <= cfg.n_options <= 6:
        raise ConfigError(f"world.n_options: expected 2..6 (letters A-F), got {cfg.n_options}")
    if cfg.mc_answer not in ("letter", "letter_text"):
        raise ConfigError(f"world.mc_answer: expected letter or letter_text, got {cfg.mc_answer}")
    check_mc_styles(cfg.mc_styles)
    check_question_mix(cfg.question_mix, "world.question_mix")
    check_question_mix(cfg.image_question_mix, "world.image_question_mix")
    check_question_variants(cfg.question_variants)
    if cfg.wrong_answer not in WRONG_STYLES:
        raise ConfigError(
            f"world.wrong_answer: expected one of {WRONG_STYLES}, got {cfg.wrong_answer}"
        )
    moving = ("motion", "change")
    if not cfg.static_question_scenarios or set(cfg.static_question_scenarios) - set(moving):
        raise ConfigError(
            f"world.static_question_scenarios: expected a non-empty list of {moving}, "
            f"got {list(cfg.static_question_scenarios)}"
        )
    names = [source_name(s) for s in cfg.sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"world.sources: duplicate source names {sorted(names)}")
    for i, src in enumerate(cfg.sources):
        check_source(src, i)
        rng = np.random.default_rng([cfg.seed, 0, i])
        _build_source(cfg, src, rng, media_dir, out)
    return out


def check_mc_styles(styles: list[str]) -> None:
    """``world.mc_styles``: a non-empty list of known layouts."""
    if not styles or set(styles) - set(MC_STYLES):
        raise ConfigError(
            f"world.mc_styles: expected a non-empty list of {sorted(MC_STYLES)}, got {list(styles)}"
        )


def pick_style(rng: np.random.Generator, styles: list[str]) -> str:
    """One layout per multiple-choice question; a single layout draws nothing from ``rng``
    (a world with one layout stays as it was)."""
    return styles[0] if len(styles) == 1 else str(styles[int(rng.integers(0, len(styles)))])


def _mix_for(cfg: WorldConf, src: SourceConf) -> dict[str, float]:
    base = cfg.image_question_mix if src.duration == "image" else cfg.question_mix
    return {**base, **src.question_mix}


def _build_source(cfg: WorldConf, src: SourceConf, rng, media_dir: Path, out: PoolOutput) -> None:
    name = source_name(src)
    bucket = bucket_of(src.duration)
    is_image = src.duration == "image"
    mix = _mix_for(cfg, src)
    if is_image:
        oe_file, mc_file = f"pool/{name}.json", f"pool/{name}.json"
    else:
        oe_file = f"pool/{name}/{name}_oe_qa_processed.json"
        mc_file = f"pool/{name}/{name}_mc_qa_processed.json"
    oe_records = out.files.setdefault(oe_file, [])
    mc_records = out.files.setdefault(mc_file, [])
    for clip_i in progress(range(src.clips), desc=f"world {name}", unit="clip"):
        clip_id = f"{name}-{clip_i:06d}"
        static = (not is_image) and bool(rng.random() < src.waste.static)
        out.counts["static_clips"] += static
        clip, n_frames, primary = _draw_clip(cfg, src, rng, mix, static)
        frames = render(clip, cfg.scene)
        out.clip_hashes.add(frames_hash(frames))
        out.counts["dropped_objects"] += clip.dropped_objects
        if is_image:
            rel = f"images/{name}/{clip_id}.png"
            write_png(media_dir / rel, frames[0])
            out.counts["images"] += 1
        else:
            rel = f"videos/{name}/{clip_id}.mp4"
            lo, hi = DURATION_RANGE[src.duration]
            write_video(media_dir / rel, frames, float(rng.uniform(lo, hi)), cfg.codec)
            out.videos.append((media_dir / rel, n_frames))
            out.counts["videos"] += 1
        items, mc_flags = _items(cfg, src, rng, clip, mix, static, primary, out.counts)
        _emit(
            cfg,
            name,
            bucket,
            clip,
            clip_id,
            rel,
            items,
            mc_flags,
            is_image,
            (oe_file, oe_records),
            (mc_file, mc_records),
            out,
        )
    for f in dict.fromkeys([oe_file, mc_file]):
        out.mixture.append(
            {"json_path": f.removeprefix("pool/"), "sampling_strategy": "all", "source": name}
        )


def _draw_clip(cfg: WorldConf, src: SourceConf, rng, mix, static: bool):
    """(clip, frames, primary question type): the type is drawn from the mix first.

    A static clip (image or still video) only gets static question types.
    """
    scene = cfg.scene
    if src.duration == "image" or static:
        qtype = _weighted(rng, {k: v for k, v in mix.items() if k in STATIC_QTYPES})
    if src.duration == "image":
        n_frames, scenario = 1, "static"
    else:
        lo, hi = (
            scene.short_frames if bucket_of(src.duration) == "short_video" else scene.long_frames
        )
        n_frames = int(rng.integers(lo, hi + 1))
        if static:
            scenario = "static"
        else:
            qtype = _weighted(rng, mix)
            # Static questions on a non-static clip: the clip still moves (or changes).
            scenario = SCENARIO_OF.get(qtype) or str(rng.choice(cfg.static_question_scenarios))
    return make_clip(rng, scenario, n_frames, scene), n_frames, qtype


def _weighted(rng, weights: dict[str, float]) -> str:
    keys = [k for k, v in weights.items() if v > 0]
    if not keys:
        raise ConfigError(f"question mix has no positive weight among {sorted(weights)}")
    p = np.array([weights[k] for k in keys], dtype=float)
    return str(rng.choice(keys, p=p / p.sum()))


def _items(cfg, src, rng, clip: Clip, mix, static: bool, primary: str, counts: Counter):
    """Pick the clip's questions and apply this source's waste kinds to them."""
    cands = [
        q
        for q in questions_for(clip, rng, cfg.scene, cfg.question_variants)
        if mix.get(q.qtype, 0) > 0
    ]
    if static:
        cands = [q for q in cands if q.qtype in STATIC_QTYPES]
    k_req = int(rng.integers(src.qa_min, src.qa_max + 1))
    k = min(k_req, len(cands))
    counts["qa_slots_unfilled"] += k_req - k
    if k == 0:
        counts["clips_without_questions"] += 1
        return [], []
    w = src.waste
    if static:
        kinds = ["static"] * k
    else:
        # Rates are shares of the questions of non-static clips (static is per clip).
        p = np.array([w.duplicate, w.leaked, w.wrong])
        p = np.append(p, max(0.0, 1.0 - p.sum()))
        kinds = list(rng.choice(["duplicate", "leaked", "wrong", "none"], size=k, p=p / p.sum()))
        if all(x == "duplicate" for x in kinds):
            kinds[0] = "none"
    n_orig = sum(x != "duplicate" for x in kinds)
    chosen = _pick_questions(rng, cands, mix, n_orig, primary)
    items: list[Item] = []
    mc_flags: list[bool] = []
    originals = [(qa, kind) for qa, kind in zip(chosen, [x for x in kinds if x != "duplicate"])]
    for qa, kind in originals:
        text = str(rng.choice(qa.paraphrases))
        is_mc = bool(rng.random() < src.mc_share) and asked_as_mc(qa, cfg.n_options)
        options = make_options(rng, qa, cfg.n_options) if is_mc else []
        style = pick_style(rng, cfg.mc_styles) if is_mc else "llava"
        answer = qa.answer
        if kind == "leaked":
            text = f"{qa.leak} {text}"
        elif kind == "wrong":
            answer = wrong_answer(rng, qa, options or None, cfg.wrong_answer)
        items.append(Item(qa, text, answer, str(kind), options, style))
        mc_flags.append(is_mc)
    # Near-duplicates come after their original: same question, same clip, same answer.
    for _ in range(len(kinds) - n_orig):
        j = int(rng.integers(0, len(originals)))
        orig = items[j]
        if rng.random() < w.duplicate_identical:
            text = orig.text
        else:
            others = [t for t in orig.qa.paraphrases if t != orig.text] or [orig.text]
            text = str(rng.choice(others))
        options = make_options(rng, orig.qa, cfg.n_options) if mc_flags[j] else []
        items.append(Item(orig.qa, text, orig.qa.answer, "duplicate", options, orig.style))
        mc_flags.append(mc_flags[j])
    return items, mc_flags


def _pick_questions(rng, cands: list[QA], mix: dict[str, float], n: int, primary: str):
    """``n`` distinct questions: one of the primary type first (when the clip has one), the
    rest weighted by the question mix, without replacement."""
    left = list(cands)
    chosen: list[QA] = []
    first = [i for i, q in enumerate(left) if q.qtype == primary]
    if first and n > 0:
        chosen.append(left.pop(first[int(rng.integers(0, len(first)))]))
    while left and len(chosen) < n:
        p = np.array([mix[q.qtype] for q in left], dtype=float)
        chosen.append(left.pop(int(rng.choice(len(left), p=p / p.sum()))))
    return chosen


def _emit(cfg, name, bucket, clip, clip_id, rel, items, mc_flags, is_image, oe, mc, out) -> None:
    """Write the clip's items as LLaVA records and one truth row per QA turn."""
    oe_turns = [(it, f) for it, f in zip(items, mc_flags) if is_image or not f]
    mc_items = [] if is_image else [it for it, f in zip(items, mc_flags) if f]
    media_key = "image" if is_image else "video"

    def record(sample_id: str, turns: list[Item]) -> dict[str, Any]:
        conv = []
        for it in turns:
            if it.options:
                conv.append(
                    (
                        mc_question(it.text, it.options, it.style),
                        llava_mc_answer(it.options, it.answer, cfg.mc_answer),
                    )
                )
            else:
                conv.append((it.text, it.answer))
        rec: dict[str, Any] = {"id": sample_id, "conversations": conversation(conv)}
        if not is_image:
            rec["data_source"] = name
        rec[media_key] = rel
        return rec

    def add(file_records: tuple[str, list], sample_id: str, turns: list[Item]) -> None:
        file, records = file_records
        records.append(record(sample_id, turns))
        out.counts["records"] += 1
        for turn, it in enumerate(turns):
            out.truth.append(
                {
                    "uid": make_uid(name, sample_id, turn),
                    "sample_id": sample_id,
                    "turn": turn,
                    "qtype": it.qa.qtype,
                    "temporal": it.qa.temporal,
                    "waste": it.waste,
                    "true_answer": it.qa.answer,
                    "bucket": bucket,
                    "source": name,
                    "given_answer": it.answer,
                    "is_mcq": bool(it.options),
                    "true_letter": "ABCDEF"[it.options.index(it.qa.answer)] if it.options else "",
                    "file": file,
                    "record": len(records) - 1,
                    "clip_id": clip_id,
                    "scenario": clip.scenario,
                    "n_frames": clip.n_frames,
                }
            )
            out.counts["candidates"] += 1
            for key, val in (
                ("bucket", bucket),
                ("source", name),
                ("qtype", it.qa.qtype),
                ("waste", it.waste),
            ):
                out.counts[f"{key}:{val}"] += 1

    if oe_turns:
        add(oe, clip_id, [it for it, _ in oe_turns])
    for j, it in enumerate(mc_items):
        add(mc, f"{clip_id}-mc{j}", [it])
