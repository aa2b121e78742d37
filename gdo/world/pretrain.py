"""The generic perception split (``pretrain/perception.json``) for the tiny base model.

A tiny VLM trained from scratch knows nothing, so it is first pre-trained on easy, clean
perception: colours, counts, existence (images and videos) and easy temporal cases
(appearance order, state change) on short clips. Its own seed; no waste. A share of the
questions state their answer (``leaked``), and a share of those come again as text-only
records (``text_only``), so the base learns to read a stated answer without the media too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from gdo.utils.progress import progress
from gdo.world.config import WorldConf
from gdo.world.formats import conversation, llava_mc_answer, mc_question
from gdo.world.media_io import write_png, write_video
from gdo.world.pool_writer import SCENARIO_OF, pick_style
from gdo.world.questions import asked_as_mc, check_question_mix, make_options, questions_for
from gdo.world.scene import frames_hash, make_clip, render

MC_SHARE = 0.3


def build_pretrain(
    cfg: WorldConf, media_dir: Path, counts: Counter
) -> tuple[list[dict[str, Any]], set[str], list[tuple[Path, int]]]:
    """Records (image and video, LLaVA JSON), their clip hashes and the written videos."""
    p = cfg.pretrain
    check_question_mix(p.question_mix, "world.pretrain.question_mix")
    if not 0.0 <= p.leaked < 1.0:
        from gdo.utils.errors import ConfigError

        raise ConfigError(f"world.pretrain.leaked: expected a share in [0, 1), got {p.leaked}")
    if not 0.0 <= p.text_only <= 1.0:
        from gdo.utils.errors import ConfigError

        raise ConfigError(
            f"world.pretrain.text_only: expected a share in [0, 1], got {p.text_only}"
        )
    rng = np.random.default_rng([cfg.seed, p.seed_offset])
    # Its own stream: text-only copies leave the media records as they are without them.
    text_rng = np.random.default_rng([cfg.seed, p.seed_offset, 1])
    scene = replace(cfg.scene, distractors=list(p.distractors))
    mix = {k: v for k, v in p.question_mix.items() if v > 0}
    image_mix = {k: v for k, v in mix.items() if k not in SCENARIO_OF}
    records: list[dict[str, Any]] = []
    hashes: set[str] = set()
    videos: list[tuple[Path, int]] = []
    jobs = [("image", i) for i in range(p.images)] + [("video", i) for i in range(p.videos)]
    for kind, i in progress(jobs, desc="world pretrain", unit="clip"):
        weights = image_mix if kind == "image" else mix
        if not weights:
            continue
        keys = list(weights)
        w = np.array([weights[k] for k in keys], dtype=float)
        qtype = str(rng.choice(keys, p=w / w.sum()))
        if kind == "image":
            n_frames, scenario = 1, "static"
        else:
            n_frames = int(rng.integers(scene.short_frames[0], scene.short_frames[1] + 1))
            scenario = SCENARIO_OF.get(qtype) or str(rng.choice(["motion", "static"]))
        clip = make_clip(rng, scenario, n_frames, scene)
        qas = [
            q for q in questions_for(clip, rng, scene, cfg.question_variants) if q.qtype in weights
        ]
        if not qas:
            counts["pretrain_clips_without_questions"] += 1
            continue
        head = [q for q in qas if q.qtype == qtype] or qas
        rest = [q for q in qas if q.key != head[0].key]
        rng.shuffle(rest)
        chosen = [head[0], *rest[: int(rng.integers(0, p.qa_max))]]
        pixels = render(clip, scene)
        hashes.add(frames_hash(pixels))
        sample_id = f"pretrain-{kind}-{i:06d}"
        if kind == "image":
            rel = f"pretrain/images/{sample_id}.png"
            write_png(media_dir / rel, pixels[0])
        else:
            rel = f"pretrain/videos/{sample_id}.mp4"
            write_video(media_dir / rel, pixels, float(rng.uniform(5.0, 30.0)), cfg.codec)
            videos.append((media_dir / rel, n_frames))
        turns, text_only = [], []
        for qa in chosen:
            text = str(rng.choice(qa.paraphrases))
            leaked = p.leaked > 0 and rng.random() < p.leaked
            if leaked:
                text = f"{qa.leak} {text}"
                counts["pretrain_leaked"] += 1
            if rng.random() < MC_SHARE and asked_as_mc(qa, cfg.n_options):
                opts = make_options(rng, qa, cfg.n_options)
                turns.append(
                    (
                        mc_question(text, opts, pick_style(rng, cfg.mc_styles)),
                        llava_mc_answer(opts, qa.answer, cfg.mc_answer),
                    )
                )
            else:
                turns.append((text, qa.answer))
            if leaked and p.text_only > 0 and text_rng.random() < p.text_only:
                text_only.append(turns[-1])
            counts[f"pretrain_qtype:{qa.qtype}"] += 1
        records.append({"id": sample_id, kind: rel, "conversations": conversation(turns)})
        for k, (human, gpt) in enumerate(text_only):
            # No media: a text question that states its answer (no <image> token).
            conv = [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]
            records.append({"id": f"{sample_id}-text{k}", "conversations": conv})
            counts["pretrain_text_only"] += 1
        counts[f"pretrain_{kind}s"] += 1
    counts["pretrain_records"] = len(records)
    return records, hashes, videos
