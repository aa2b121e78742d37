"""Stratum fields, the temporal tag, the dedup text key and the heuristic base.

The paper's candidate score (docs/METHOD.md#vds3-and-the-candidate-score) starts from a
heuristic base: text-length quality, difficulty, alignment to the pool's field
distribution, a source rarity prior and a temporal bonus. Every component lies in [0, 1]
so that goal weights compare.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdo.columns import (
    ALEN_BIN,
    ALIGNMENT,
    DIFFICULTY,
    DURATION_BIN,
    IS_VIDEO,
    QLEN_BIN,
    RARITY,
    SOURCE_GROUP,
    TEMPORAL,
    TEMPORAL_BONUS,
    TEMPORAL_VIDEO,
    TEXT_QUALITY,
)
from gdo.scoring.config import StrataConf
from gdo.scoring.quality import sigmoid
from gdo.utils.stats import robust_z

# Columns of the candidate table the score stage reads.
POOL_COLUMNS = [
    "uid",
    "source",
    "bucket",
    "media",
    "video_id",
    "duration_s",
    "question",
    "answer",
    "is_mcq",
]
# Fields whose pool frequency defines "alignment"; the source has its own prior.
ALIGNMENT_FIELDS = ("bucket", DURATION_BIN, "is_mcq", QLEN_BIN, ALEN_BIN)
_VIDEO_BUCKETS = ("short_video", "long_video")


def _bin_labels(edges: list[float], unit: str) -> list[str]:
    lo = [0, *edges]
    hi = [*edges, None]
    return [f"{a:g}-{b:g}{unit}" if b is not None else f"{a:g}{unit}+" for a, b in zip(lo, hi)]


def length_bin(text: pd.Series, edges: list[int], prefix: str) -> pd.Categorical:
    """Character-length bin of each text (``q0`` shortest ... ``qN`` longest)."""
    lengths = text.fillna("").str.len().to_numpy()
    codes = np.digitize(lengths, np.asarray(edges, dtype=np.float64), right=False)
    cats = [f"{prefix}{i}" for i in range(len(edges) + 1)]
    return pd.Categorical.from_codes(codes, categories=cats)


def duration_bin(duration_s: pd.Series, is_video: np.ndarray, edges: list[float]) -> pd.Categorical:
    """Duration bin of videos (LLaVA-Video style); ``none`` for images and unknown durations."""
    labels = _bin_labels(list(edges), "s")
    d = duration_s.to_numpy(dtype=np.float64)
    codes = np.digitize(d, np.asarray(edges, dtype=np.float64), right=False)
    codes = np.where(is_video & np.isfinite(d), codes, len(labels))
    return pd.Categorical.from_codes(codes, categories=[*labels, "none"])


def source_group(source: pd.Series, regex: str) -> pd.Categorical:
    """Source group: the source name without its duration prefix (regex group 1)."""
    cat = source.astype("category")
    names = pd.Series(cat.cat.categories.astype(str))
    groups = names.str.extract(regex, expand=False).fillna(names)
    mapped = groups.to_numpy()[cat.cat.codes.to_numpy()]
    return pd.Categorical(mapped)


def text_key(pool: pd.DataFrame, with_media: bool) -> np.ndarray:
    """uint64 hash of the normalized (media,) question and answer: the text dedup key."""

    def norm(s: pd.Series) -> pd.Series:
        return s.fillna("").str.lower().str.replace(r"[^0-9a-z]+", " ", regex=True).str.strip()

    key = norm(pool["question"]) + "\x1f" + norm(pool["answer"])
    if with_media:
        media = pool["video_id"].fillna("").astype(str)
        first = pool["media"].str[0].fillna("").astype(str)
        media = media.where(media != "", first)
        key = media + "\x1f" + key
    return pd.util.hash_array(key.to_numpy(dtype=object), categorize=False)


def _frequency_share(values: pd.Categorical | pd.Series) -> np.ndarray:
    s = pd.Series(values)
    counts = s.map(s.value_counts()).to_numpy(dtype=np.float64)
    return counts / counts.max() if len(counts) else counts


def stratum_frame(pool: pd.DataFrame, tnc: np.ndarray, conf: StrataConf) -> pd.DataFrame:
    """Stratum fields + tags for each pool row (aligned with ``pool``)."""
    bucket = pool["bucket"].astype(str)
    is_video = bucket.isin(_VIDEO_BUCKETS).to_numpy()
    temporal = np.asarray(tnc, dtype=np.float64) > conf.temporal_threshold
    return pd.DataFrame(
        {
            "bucket": pd.Categorical(bucket),
            DURATION_BIN: duration_bin(pool["duration_s"], is_video, conf.duration_bins_s),
            TEMPORAL: temporal,
            "is_mcq": pool["is_mcq"].fillna(False).astype(bool).to_numpy(),
            QLEN_BIN: length_bin(pool["question"], list(conf.question_len_bins), "q"),
            ALEN_BIN: length_bin(pool["answer"], list(conf.answer_len_bins), "a"),
            SOURCE_GROUP: source_group(pool["source"].astype(str), conf.source_group_regex),
            IS_VIDEO: is_video,
            TEMPORAL_VIDEO: temporal & is_video,
        }
    )


def base_components(pool: pd.DataFrame, strata: pd.DataFrame, z_ppl: np.ndarray) -> pd.DataFrame:
    """The heuristic base components, each in [0, 1]."""
    qlen = np.log1p(pool["question"].fillna("").str.len().to_numpy(dtype=np.float64))
    alen = np.log1p(pool["answer"].fillna("").str.len().to_numpy(dtype=np.float64))
    # Lengths near the pool's typical lengths: very short or rambling turns score lower.
    text_quality = 0.5 * np.exp(-np.abs(robust_z(qlen))) + 0.5 * np.exp(-np.abs(robust_z(alen)))
    alignment = np.mean([_frequency_share(strata[f]) for f in ALIGNMENT_FIELDS], axis=0)
    src = pool["source"].astype(str)
    src_counts = src.map(src.value_counts()).to_numpy(dtype=np.float64)
    # sqrt damping: a source 100x smaller gets a 10x prior, not 100x.
    rarity = np.sqrt(src_counts.min() / src_counts) if len(src_counts) else src_counts
    return pd.DataFrame(
        {
            TEXT_QUALITY: text_quality.astype(np.float32),
            DIFFICULTY: sigmoid(np.asarray(z_ppl, dtype=np.float64)).astype(np.float32),
            ALIGNMENT: alignment.astype(np.float32),
            RARITY: rarity.astype(np.float32),
            TEMPORAL_BONUS: strata[TEMPORAL_VIDEO].to_numpy(dtype=np.float32),
        }
    )


BASE_COMPONENTS = (TEXT_QUALITY, DIFFICULTY, ALIGNMENT, RARITY, TEMPORAL_BONUS)
