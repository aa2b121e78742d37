"""Coverage: how typical or how rare a candidate is in the pool.

Per sample (``gdo describe``) it records RGB mean and std over <= ``n_frames``
frames. Per pool (``gdo describe merge``) it builds the paper's 27-d feature
(16-bin hashed bag of words of question + answer, the 6 RGB statistics, tnc, amm,
frame_div, ppl, vds), standardizes it, fits MiniBatchKMeans (``k`` clipped to n/4)
and gives ``cluster_id``, ``cluster_rep = exp(-dist to own centroid)`` and
``cluster_hard = 1 - cluster_rep``. Assignment is one vectorized pass over the
table, never a predict per row (the 6-minute bottleneck of the paper's reference
implementation, docs/METHOD.md#the-reference-implementation).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd

from gdo.columns import (
    AMM,
    CLUSTER_HARD,
    CLUSTER_ID,
    CLUSTER_REP,
    FRAME_DIV,
    OK,
    PPL,
    RGB_STATS,
    STATUS,
    TNC,
    VDS,
)
from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.context import BatchContext
from gdo.descriptors.motion import subsample

DESCRIPTOR_FEATURES = (TNC, AMM, FRAME_DIV, PPL, VDS)


def rgb_stats(frames: np.ndarray | None, n_frames: int = 6) -> tuple[float, ...]:
    """Per-channel mean and std (in [0, 1]) over <= n_frames frames; zeros for no media."""
    if frames is None or len(frames) == 0:
        return (0.0,) * 6
    px = subsample(frames, n_frames).reshape(-1, 3).astype(np.float64) / 255.0
    return (*px.mean(axis=0).tolist(), *px.std(axis=0).tolist())


def hashed_bow(texts: pd.Series, bins: int = 16) -> np.ndarray:
    """L1-normalized bag of words, each word hashed (crc32, stable) into ``bins``."""
    out = np.zeros((len(texts), bins), dtype=np.float64)
    for r, text in enumerate(texts.fillna("").astype(str)):
        words = text.lower().split()
        for w in words:
            out[r, zlib.crc32(w.encode()) % bins] += 1.0
        if words:
            out[r] /= len(words)
    return out


def coverage_features(table: pd.DataFrame, bins: int = 16) -> np.ndarray:
    """The (n, bins + 11) feature matrix; missing numbers are imputed by the column median."""
    text = table["question"].fillna("").astype(str) + " " + table["answer"].fillna("").astype(str)
    parts = [hashed_bow(text, bins)]
    for col in (*RGB_STATS, *DESCRIPTOR_FEATURES):
        x = (
            pd.to_numeric(table[col], errors="coerce").to_numpy(np.float64)
            if col in table
            else np.zeros(len(table))
        )
        med = np.nanmedian(x) if np.isfinite(x).any() else 0.0
        x = np.where(np.isfinite(x), x, med)
        parts.append(x[:, None])
    return np.hstack(parts)


@register("coverage")
class Coverage(Descriptor):
    """Coverage: k-means typicality (``cluster_rep``) and rarity (``cluster_hard``)."""

    sample_columns = RGB_STATS
    pool_columns = (CLUSTER_ID, CLUSTER_REP, CLUSTER_HARD)
    no_zscore = (*RGB_STATS, CLUSTER_ID)
    per_clip = True  # the RGB statistics

    def __init__(
        self,
        k: int = 4096,
        n_frames: int = 6,
        bins: int = 16,
        standardize: bool = True,
        batch_size: int = 4096,
        n_init: int = 3,
        seed: int = 0,
    ) -> None:
        self.k = int(k)
        self.n_frames = int(n_frames)
        self.bins = int(bins)
        self.standardize = bool(standardize)
        self.batch_size = int(batch_size)
        self.n_init = int(n_init)
        self.seed = int(seed)

    def sample_config_key(self) -> dict[str, Any]:
        """Only the frame count changes the per-sample RGB statistics (k does not)."""
        return {"class": "coverage.rgb_stats", "n_frames": self.n_frames}

    def clip_value(self, ctx: BatchContext, i: int) -> tuple[float, ...]:
        """RGB mean and std of row ``i``'s clip."""
        return rgb_stats(ctx.frames(i), self.n_frames)

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """RGB mean and std of every row's frames."""
        vals = ctx.clip_values(self)
        return {c: ctx.column({i: v[j] for i, v in vals.items()}) for j, c in enumerate(RGB_STATS)}

    def describe_pool(self, table: pd.DataFrame, cfg: Any) -> pd.DataFrame:
        """Cluster the ok rows; failed rows get NaN (cluster_id -1)."""
        from sklearn.cluster import MiniBatchKMeans

        out = pd.DataFrame(
            {CLUSTER_ID: -1, CLUSTER_REP: np.nan, CLUSTER_HARD: np.nan}, index=table.index
        )
        ok = (table[STATUS] == OK).to_numpy() if STATUS in table else np.ones(len(table), bool)
        n = int(ok.sum())
        if n == 0:
            return out
        x = coverage_features(table.loc[ok], self.bins)
        if self.standardize:
            # Raw scales differ by orders of magnitude (ppl vs a colour fraction).
            sd = x.std(axis=0)
            x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        # Losses from different batch mates (1 rank vs 8) differ by ~1e-7; on a 1e-4 grid
        # they give the same features, so the clustering does not depend on sharding.
        x = np.round(x, 4)
        k = max(1, min(self.k, n // 4))
        km = MiniBatchKMeans(
            n_clusters=k,
            batch_size=max(self.batch_size, k),
            n_init=self.n_init,
            random_state=self.seed,
        ).fit(x)
        labels = km.predict(x)
        dist = np.linalg.norm(x - km.cluster_centers_[labels], axis=1)
        rep = np.exp(-dist)
        out.loc[ok, CLUSTER_ID] = labels.astype(np.int64)
        out.loc[ok, CLUSTER_REP] = rep
        out.loc[ok, CLUSTER_HARD] = 1.0 - rep
        return out
