"""A custom benchmark drawn from the world: one skill, written in the ``custom`` format.

The "bring your own goal" experiment (``conf/experiment/custom_goal.yaml``) needs a set
of questions that a user might have: a few hundred questions on *one* skill (by default
``appearance_order``: "what colour appears first?"), not one of the four standard suites.
This module writes it under ``<world_dir>/custom/<name>/``::

    questions.jsonl    id, media (relative to this folder), question, options, answer, group
    media/<id>.mp4     one held-out clip per question
    truth.parquet      qid, qtype, variant, answer, answer_letter, n_frames
    manifest.json      written last (key = content hash of the world config + this config)

The clips are held out from the pool by seed: they come from their own random stream
(``[world.seed, seed_offset]``, an offset no other world part uses) through the same
:class:`~gdo.world.bench_clips.ClipMaker` as the standard suites, with the answer letters
balanced. (The pool's clip hashes are not kept by ``gdo world``, so disjointness from the
pool is by seed, not checked frame by frame; within the set no clip repeats.)

``gdo world custom [hydra overrides]`` (or :func:`run` with a composed config)
writes the set; ``world.custom_set`` (:class:`~gdo.world.config.CustomSetConf`) says what
it holds.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.utils.errors import ConfigError, InputError
from gdo.utils.io import atomic_write_parquet, atomic_write_text
from gdo.utils.manifest import MANIFEST, content_hash, is_fresh, write_manifest
from gdo.utils.progress import progress
from gdo.utils.stage import world_dir
from gdo.utils.typed import typed
from gdo.world.bench_clips import ClipMaker
from gdo.world.config import QTYPES, CustomSetConf, WorldConf

log = logging.getLogger(__name__)


def custom_set_conf(cfg: Any) -> CustomSetConf:
    """The set's config, ``cfg.world.custom_set``, typed and checked (``ConfigError`` naming
    the field and what it expects)."""
    node = typed(cfg.world.custom_set, CustomSetConf, "world.custom_set")
    conf = replace(node, frames=tuple(node.frames), seconds=tuple(node.seconds))
    where = "world.custom_set"
    if conf.qtype not in QTYPES:
        raise ConfigError(f"{where}.qtype: expected one of {QTYPES}, got {conf.qtype!r}")
    if conf.size < 1:
        raise ConfigError(f"{where}.size: expected >= 1 question, got {conf.size}")
    if not 2 <= conf.n_options <= 6:
        raise ConfigError(f"{where}.n_options: expected 2 to 6, got {conf.n_options}")
    frames, seconds = list(conf.frames), list(conf.seconds)
    if len(frames) != 2 or not 1 <= frames[0] <= frames[1]:
        raise ConfigError(f"{where}.frames: expected [min, max] with 1 <= min <= max, got {frames}")
    if len(seconds) != 2 or not 0 < seconds[0] <= seconds[1]:
        raise ConfigError(
            f"{where}.seconds: expected [min, max] with 0 < min <= max, got {seconds}"
        )
    return conf


def custom_set_dir(cfg: Any, name: str | None = None) -> Path:
    """``<world_dir>/custom/<name>``."""
    return world_dir(cfg) / "custom" / (name or custom_set_conf(cfg).name)


def build_custom_set(wcfg: WorldConf, out: Path, conf: CustomSetConf) -> dict[str, Any]:
    """Write ``questions.jsonl``, ``media/`` and ``truth.parquet`` under ``out``; return counts."""
    rng = np.random.default_rng([wcfg.seed, conf.seed_offset])
    counts: Counter = Counter()
    maker = ClipMaker(rng, wcfg.scene, set(), wcfg.codec, counts)
    lines, truth = [], []
    for j in progress(range(conf.size), desc=f"custom set {conf.name}", unit="q"):
        clip, pixels, (q,) = maker.draw(conf.qtype, tuple(conf.frames), conf.n_options)
        qid = f"{conf.name}_{j:04d}"
        rel = f"media/{qid}.mp4"
        maker.write(out / rel, pixels, tuple(conf.seconds))
        group = q.qa.variant or q.qa.qtype
        lines.append(
            json.dumps(
                {
                    "id": qid,
                    "media": rel,
                    "question": q.qa.question,
                    "options": q.options,
                    "answer": q.letter,
                    "group": group,
                }
            )
        )
        truth.append(
            {
                "qid": qid,
                "qtype": q.qa.qtype,
                "variant": group,
                "answer": q.qa.answer,
                "answer_letter": q.letter,
                "n_options": len(q.options),
                "n_frames": clip.n_frames,
            }
        )
        counts[f"group:{group}"] += 1
        counts[f"answer_letter:{q.letter}"] += 1
    atomic_write_text(out / "questions.jsonl", "\n".join(lines) + "\n")
    atomic_write_parquet(out / "truth.parquet", pd.DataFrame(truth))
    out_counts: dict[str, Any] = {"questions": len(lines)}
    for k, v in sorted(counts.items()):
        group, _, val = k.partition(":")
        if val:
            out_counts.setdefault(f"by_{group}", {})[val] = int(v)
        else:
            out_counts[k] = int(v)
    return out_counts


def run(cfg: Any) -> Path:
    """Write the world's custom set (skipped when fresh); return its ``questions.jsonl``."""
    from gdo.world.stage import to_world_conf, world_key

    wdir = world_dir(cfg)
    if not (wdir / MANIFEST).exists():
        raise InputError(str(wdir / MANIFEST), reason="missing; run `gdo world` first")
    conf = custom_set_conf(cfg)
    out = custom_set_dir(cfg, conf.name)
    key = content_hash(world_key(cfg), asdict(conf))
    if is_fresh(out, key) and (out / "questions.jsonl").exists():
        log.info("custom set %s is fresh (key %s)", out, key)
        return out / "questions.jsonl"
    if out.exists():
        shutil.rmtree(out)  # stale media of another config must not linger
    out.mkdir(parents=True)
    counts = build_custom_set(to_world_conf(cfg.world), out, conf)
    write_manifest(
        out,
        stage="world_custom",
        key=key,
        config=asdict(conf),
        inputs={"world": world_key(cfg)},
        counts=counts,
        seed=int(cfg.world.seed),
    )
    log.info("custom set written: %s (%d questions)", out, counts["questions"])
    return out / "questions.jsonl"
