"""``gdo score``: the shared quality score q, vds3 and the candidate score.

Reads ``<work_dir>/pool/pool.parquet`` and ``<work_dir>/descriptors/descriptors.parquet``;
writes ``<work_dir>/scores/scores.parquet`` (one row per scored candidate, sorted by
uid) + ``manifest.json``. Candidates that cannot be scored (failed descriptors,
NaN/inf inputs, no descriptor row) are excluded and counted in the manifest.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from gdo.columns import (
    BASE,
    ERROR,
    GOAL_REL,
    IS_VIDEO,
    OK,
    SC_FALLBACK,
    STATUS,
    TEMPORAL_VIDEO,
    TEXT_KEY,
    TNC,
    VDS3,
    Z_PPL,
    z,
)
from gdo.scoring.components import (
    POOL_COLUMNS,
    base_components,
    stratum_frame,
    text_key,
)
from gdo.scoring.config import STRATUM_FIELDS, ScoreConf
from gdo.scoring.mix import base_score, candidate_scores
from gdo.scoring.quality import quality_score
from gdo.utils.errors import InputError
from gdo.utils.io import atomic_write_parquet
from gdo.utils.manifest import (
    content_hash,
    file_hash,
    is_fresh,
    read_manifest,
    to_plain,
    write_manifest,
)
from gdo.utils.stage import stage_dir, work_dir
from gdo.utils.typed import typed

log = logging.getLogger(__name__)
SCORES = "scores.parquet"


def score_candidates(
    pool: pd.DataFrame, desc: pd.DataFrame, conf: ScoreConf, desc_file: str = "descriptors.parquet"
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score every pool candidate that has usable descriptors.

    Returns the scores table (sorted by uid) and counts: ``excluded`` maps each
    reason (``status_failed``, ``missing_descriptors``, ``nonfinite_<col>``,
    ``duplicate_uid``) to a count; nothing is dropped without being counted.
    """
    excluded: dict[str, int] = {}
    n_pool = len(pool)
    dup = pool["uid"].duplicated()
    if dup.any():
        excluded["duplicate_uid"] = int(dup.sum())
        pool = pool[~dup]
    if "uid" not in desc.columns:
        raise InputError(desc_file, None, "uid", "a uid column", got=sorted(desc.columns)[:20])
    desc = desc.drop_duplicates("uid")
    if STATUS in desc.columns:
        failed = desc[STATUS].astype(str) != OK
        if failed.any():
            excluded["status_failed"] = int(pool["uid"].isin(desc.loc[failed, "uid"]).sum())
        desc = desc[~failed]
    if conf.shuffle_descriptors:
        desc = shuffle_descriptors(desc, int(conf.shuffle_seed))
    desc_cols = [c for c in desc.columns if c not in pool.columns or c == "uid"]
    merged = pool.merge(desc[desc_cols], on="uid", how="inner", sort=False)
    n_missing = len(pool) - len(merged) - excluded.get("status_failed", 0)
    if n_missing:
        excluded["missing_descriptors"] = n_missing
    merged = merged.sort_values("uid", kind="stable").reset_index(drop=True)

    qual = quality_score(merged, conf, file=desc_file)
    excluded.update(qual.excluded)
    kept = merged[qual.kept].reset_index(drop=True)
    qf = qual.frame
    strata = stratum_frame(kept, qf[TNC].to_numpy(), conf.strata)
    comps = base_components(kept, strata, qf[Z_PPL].to_numpy())
    out = pd.concat(
        [
            pd.DataFrame(
                {
                    "uid": kept["uid"].astype(str).to_numpy(),
                    "source": pd.Categorical(kept["source"].astype(str)),
                    "video_id": pd.Categorical(kept["video_id"].fillna("").astype(str)),
                }
            ),
            qf.drop(columns=["uid"]),
            strata,
            comps,
        ],
        axis=1,
    )
    out[BASE] = base_score(out, conf.mix.base).astype(np.float32)
    out[TEXT_KEY] = text_key(kept, conf.strata.dedup_with_media)
    for col in kept.columns:
        if col.startswith((GOAL_REL, z(GOAL_REL))):
            out[col] = kept[col].to_numpy(dtype=np.float32)
    out = pd.concat(
        [out, candidate_scores(out, conf.mix, conf.goal_benchmark, qual.dropped, desc_file)],
        axis=1,
    )
    counts = {
        "pool": n_pool,
        "scored": len(out),
        "excluded": excluded,
        "excluded_total": int(sum(excluded.values())),  # scored + excluded_total == pool
        SC_FALLBACK: qual.sc_fallback_rows,
        "video": int(out[IS_VIDEO].sum()),
        TEMPORAL_VIDEO: int(out[TEMPORAL_VIDEO].sum()),
        "vds3_positive": int((out[VDS3] > 0).sum()),
    }
    counts["dropped_descriptors"] = qual.dropped
    return out, counts


def shuffle_descriptors(desc: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The descriptor table with its value rows permuted across uids (the shuffled-
    descriptor control): the same values and the same joint distribution, each on another
    candidate. Rows keep their uid and status; every other column moves together."""
    perm = np.random.default_rng(seed).permutation(len(desc))
    fixed = {"uid", STATUS, ERROR}
    out = desc.reset_index(drop=True).copy()
    for col in out.columns:
        if col not in fixed:
            out[col] = out[col].to_numpy()[perm]
    return out


def input_key(path: Path) -> str:
    """An input artifact's identity: its manifest key, else the file's content hash."""
    key = (read_manifest(path.parent) or {}).get("key")
    return str(key) if key else file_hash(path)


def run(cfg: DictConfig) -> Path:
    """Score the pool: write ``scores/scores.parquet`` + manifest; return the parquet path."""
    conf = typed(cfg.score, ScoreConf, "score")
    wd = work_dir(cfg)
    pool_path = wd / "pool" / "pool.parquet"
    desc_path = wd / "descriptors" / "descriptors.parquet"
    for path, stage in ((pool_path, "pool"), (desc_path, "describe")):
        if not path.exists():
            raise InputError(str(path), reason=f"missing; run `gdo {stage}` first")
    inputs = {"pool": input_key(pool_path), "descriptors": input_key(desc_path)}
    key = content_hash(conf, inputs)
    out_dir = stage_dir(cfg, "scores")
    if (out_dir / SCORES).exists() and is_fresh(out_dir, key):
        log.info("score: fresh (key %s), skipping; %s", key, out_dir / SCORES)
        return out_dir / SCORES
    try:
        pool = pd.read_parquet(pool_path, columns=POOL_COLUMNS)
    except (KeyError, ValueError) as err:
        raise InputError(
            str(pool_path), None, None, f"the candidate columns {POOL_COLUMNS}", reason=str(err)
        ) from err
    desc = pd.read_parquet(desc_path)
    scores, counts = score_candidates(pool, desc, conf, str(desc_path))
    path = atomic_write_parquet(out_dir / SCORES, scores)
    for reason, n in counts["excluded"].items():
        log.warning("score: %d candidates excluded (%s)", n, reason)
    write_manifest(
        out_dir,
        stage="score",
        key=key,
        config={"score": to_plain(conf)},
        inputs=inputs,
        counts=counts,
        seed=int(cfg.seed),
        extra={"stratum_fields": list(STRATUM_FIELDS), "dropped": counts["dropped_descriptors"]},
    )
    return path
