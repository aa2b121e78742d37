"""Synthetic pools with controlled descriptors, for the tests (``from synthetic import ...``).

``make_pool`` writes tables in the real contracts (pool.parquet columns,
descriptors.parquet columns, truth.parquet's ``temporal``/``waste``) with
descriptors that behave as waste does (docs/METHOD.md#what-they-catch): leaked answers
have VDS ~ 0, wrong answers high loss and low SC, static videos little motion and no
temporal need. ``make_candidates`` builds the compact arrays selection runs on, directly.
(The selection benchmark's 1M-10M-row scores table is made in
experiments/benchmarks/selection.py.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdo.columns import (
    AMM,
    CLUSTER_HARD,
    CLUSTER_ID,
    CLUSTER_REP,
    DESCRIPTORS,
    FRAME_DIV,
    LOSS_BLIND,
    LOSS_VISUAL,
    PPL,
    SC,
    TNC,
    VDS,
    goal_rel,
)
from gdo.pool.schema import make_uid
from gdo.selection.fill import Candidates
from gdo.utils.stats import robust_z

SOURCES = {
    "image": ["image_coco", "image_textvqa", "image_charts"],
    "short_video": ["0_30_s_nextqa", "0_30_s_perceptiontest", "30_60_s_activitynet"],
    "long_video": ["1_2_m_youcook2", "2_3_m_ego4d"],
}
WASTE = ("none", "duplicate", "leaked", "static", "wrong")
RAW = (*DESCRIPTORS, goal_rel("mvbench"))


def make_pool(
    n: int,
    seed: int = 0,
    video_share: float = 0.55,
    temporal_share: float = 0.5,
    waste_rate: float = 0.3,
    failed_rate: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(pool, descriptors, truth) for ``n`` single-turn candidates."""
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    bucket = np.where(
        u < 1 - video_share,
        "image",
        np.where(u < 1 - video_share * 0.3, "short_video", "long_video"),
    )
    is_video = bucket != "image"
    temporal = is_video & (rng.random(n) < temporal_share)
    w = rng.random(n)
    cut = np.cumsum([1 - waste_rate, waste_rate * 0.2, waste_rate * 0.3, waste_rate * 0.2])
    waste = np.select([w < cut[0], w < cut[1], w < cut[2], w < cut[3]], WASTE[:4], "wrong")
    waste = np.where((waste == "static") & ~is_video, "none", waste)
    temporal &= waste != "static"
    source = np.empty(n, dtype=object)
    for b, names in SOURCES.items():
        m = bucket == b
        source[m] = rng.choice(names, size=int(m.sum()), p=_skewed(len(names)))
    clip = rng.integers(0, max(n // 3, 1), size=n)  # several QA turns share a clip
    video_id = np.where(is_video, [f"clip{c}.mp4" for c in clip], "")
    media = [[f"/media/{v}"] if v else [f"/media/img{i}.png"] for i, v in enumerate(video_id)]
    qwords = rng.integers(4, 30, size=n)
    question = np.array(
        [
            ("what happens " if t else "what is shown ") + "word " * k
            for t, k in zip(temporal, qwords)
        ],
        dtype=object,
    )
    answer = np.array([f"answer {i % 97}" for i in range(n)], dtype=object)
    dup = np.flatnonzero(waste == "duplicate")
    if len(dup):
        src = rng.integers(0, n, size=len(dup))
        question[dup], answer[dup] = question[src], answer[src]
        video_id[dup] = video_id[src]
        for d, s in zip(dup, src):
            media[d] = media[s]
    sample_id = [f"s{i}" for i in range(n)]
    duration = np.where(
        bucket == "long_video",
        rng.uniform(60, 180, n),
        np.where(is_video, rng.uniform(5, 60, n), np.nan),
    )
    is_mcq = rng.random(n) < 0.4
    pool = pd.DataFrame(
        {
            "uid": [make_uid(s, i, 0) for s, i in zip(source, sample_id)],
            "sample_id": sample_id,
            "turn": 0,
            "source": source,
            "file": "synthetic.json",
            "record": np.arange(n),
            "bucket": bucket,
            "media_kind": np.where(is_video, "video", "image"),
            "media": media,
            "video_id": video_id,
            "duration_s": duration,
            "n_frames": np.where(is_video, 16, 1),
            "question": question,
            "answer": answer,
            "is_mcq": is_mcq,
            "options": [[] for _ in range(n)],
            "answer_letter": "",
        }
    )
    desc = _descriptors(rng, pool["uid"].to_numpy(), is_video, temporal, waste, failed_rate)
    truth = pd.DataFrame(
        {
            "uid": pool["uid"],
            "temporal": temporal,
            "waste": waste,
            "bucket": bucket,
            "source": source,
        }
    )
    return pool, desc, truth


def _skewed(k: int) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1)
    return p / p.sum()


def _descriptors(rng, uid, is_video, temporal, waste, failed_rate) -> pd.DataFrame:
    n = len(uid)
    static = waste == "static"
    amm = np.where(is_video, rng.gamma(2.0, 1.0, n) * np.where(static, 0.05, 1.0), 0.0)
    frame_div = np.where(is_video, rng.uniform(0.03, 0.2, n) * np.where(static, 0.05, 1.0), 0.0)
    loss_visual = rng.normal(1.5, 0.4, n) + np.where(waste == "wrong", 2.5, 0.0)
    vds = np.where(waste == "leaked", rng.normal(0.0, 0.05, n), rng.normal(0.8, 0.3, n))
    vds = np.where(temporal, vds + 0.3, vds)
    loss_blind = loss_visual + vds
    tnc = np.where(
        temporal, np.where(rng.random(n) < 0.9, 1.0, 0.5), np.where(rng.random(n) < 0.9, 0.0, 0.5)
    )
    sc = np.where(waste == "wrong", rng.beta(2, 6, n), rng.beta(6, 2, n))
    rep = rng.uniform(0.2, 0.95, n)
    rel = 0.6 * temporal + 0.2 * is_video + rng.normal(0, 0.1, n)
    desc = pd.DataFrame(
        {
            "uid": uid,
            AMM: amm,
            FRAME_DIV: frame_div,
            LOSS_VISUAL: loss_visual,
            LOSS_BLIND: loss_blind,
            VDS: loss_blind - loss_visual,
            PPL: np.exp(np.clip(loss_visual, -30, 30)),
            TNC: tnc,
            SC: sc,
            CLUSTER_REP: rep,
            CLUSTER_HARD: 1 - rep,
            CLUSTER_ID: rng.integers(0, 64, n),
            goal_rel("mvbench"): rel,
        }
    )
    failed = rng.random(n) < failed_rate
    desc["status"] = np.where(failed, "failed", "ok")
    desc.loc[failed, list(RAW)] = np.nan
    for col in RAW:
        desc[f"z_{col}"] = robust_z(desc[col].to_numpy())
    return desc


def make_candidates(n: int, seed: int = 0, n_strata: int = 400, n_groups: int = 12) -> Candidates:
    """Compact random candidates (float32 scores, int32 codes) for large benchmarks."""
    rng = np.random.default_rng(seed)
    is_video = rng.random(n, dtype=np.float32) < 0.5
    temporal = is_video & (rng.random(n, dtype=np.float32) < 0.4)
    score = rng.standard_normal(n, dtype=np.float32) + 0.5 * temporal.astype(np.float32)
    stratum = rng.integers(0, n_strata, size=n, dtype=np.int32)
    # Strata do not mix images and videos (the bucket is part of the key).
    stratum = (stratum // 2) * 2 + is_video.astype(np.int32)
    video = np.where(is_video, rng.integers(0, max(n // 4, 1), size=n, dtype=np.int32), -1)
    return Candidates(
        score=score,
        is_video=is_video,
        temporal_video=temporal,
        vds3_positive=rng.random(n, dtype=np.float32) < 0.45,
        stratum=stratum,
        source_group=rng.integers(0, n_groups, size=n, dtype=np.int16),
        video=video.astype(np.int32),
        quota_weight=np.where(temporal, np.float32(2.0), np.float32(1.0)),
        text_key=rng.integers(0, 2**63, size=n, dtype=np.uint64) // 2,
        group_names=[f"g{i}" for i in range(n_groups)],
    )
