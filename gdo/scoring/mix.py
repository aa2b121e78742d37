"""The candidate score: a per-family mix of the base, vds3, z(q) and goal relevance.

``score_video = m.base*z(base) + m.vds3*vds3 + m.q*z(q) + m.goal_relevance*z(rel)``
with ``m = mix.video``
and likewise for images; ``score`` takes the video mix for video candidates. The
shared columns live in scores.parquet, so a goal re-mixes them in milliseconds
without rerunning the score stage.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from gdo.columns import (
    GOAL_REL,
    IS_VIDEO,
    PPL,
    SCORE,
    SCORE_IMAGE,
    SCORE_VIDEO,
    TEMPORAL_BONUS,
    VDS3,
    Z_Q,
    goal_rel,
    z,
)
from gdo.scoring.components import BASE_COMPONENTS
from gdo.scoring.config import BaseWeights, MixConf, TermMix
from gdo.utils.errors import ConfigError, InputError
from gdo.utils.stats import robust_z

# A base component's weight in BaseWeights is named like its column, except this one.
_BASE_WEIGHT = {TEMPORAL_BONUS: "temporal"}


def goal_relevance_column(benchmark: str | None) -> str | None:
    """``goal_rel_<benchmark>`` or None."""
    return goal_rel(benchmark) if benchmark else None


def base_score(frame: pd.DataFrame, base_weights: BaseWeights) -> np.ndarray:
    """Weighted sum of the base components."""
    out = np.zeros(len(frame), dtype=np.float64)
    for comp in BASE_COMPONENTS:
        w = float(getattr(base_weights, _BASE_WEIGHT.get(comp, comp)))
        if w:
            out += w * frame[comp].to_numpy(dtype=np.float64)
    return out


def candidate_scores(
    frame: pd.DataFrame,
    mix: MixConf,
    goal_benchmark: str | None = None,
    dropped: list[str] | tuple[str, ...] = (),
    file: str = "scores.parquet",
) -> pd.DataFrame:
    """``score_video``, ``score_image`` and ``score`` for every row of ``frame``.

    ``frame`` holds the base components, ``vds3``, ``z_q`` and ``is_video`` (and
    ``goal_rel_<benchmark>`` when a goal relevance weight is set). A ``ppl`` ablation
    zeroes the difficulty component's weight: it is derived from PPL.
    """
    base_w = mix.base
    if PPL in dropped and float(base_w.difficulty):
        base_w = replace(base_w, difficulty=0.0)
    z_base = robust_z(base_score(frame, base_w))
    z_base = np.nan_to_num(z_base, nan=0.0)
    vds3 = frame[VDS3].to_numpy(dtype=np.float64)
    z_q = frame[Z_Q].to_numpy(dtype=np.float64)
    uses_rel = float(mix.video.goal_relevance) or float(mix.image.goal_relevance)
    rel = np.zeros(len(frame))
    if uses_rel:
        col = goal_relevance_column(goal_benchmark)
        if col is None:
            raise ConfigError(
                "a goal_relevance weight is set but no benchmark is named "
                "(goal.target.benchmark / score.goal_benchmark)"
            )
        if col not in frame.columns:
            have = sorted(c for c in frame.columns if c.startswith(GOAL_REL))
            raise InputError(file, None, col, f"a goal relevance column (have {have})")
        zc = z(col)
        rel = frame[zc] if zc in frame.columns else robust_z(frame[col].to_numpy())
        rel = np.asarray(rel, dtype=np.float64)

    def family(m: TermMix) -> np.ndarray:
        s = float(m.base) * z_base + float(m.vds3) * vds3 + float(m.q) * z_q
        if float(m.goal_relevance):
            s = s + float(m.goal_relevance) * rel
        return s

    s_video = family(mix.video)
    s_image = family(mix.image)
    is_video = frame[IS_VIDEO].to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            SCORE_VIDEO: s_video.astype(np.float32),
            SCORE_IMAGE: s_image.astype(np.float32),
            SCORE: np.where(is_video, s_video, s_image).astype(np.float32),
        },
        index=frame.index,
    )
