"""The paper's quality score ``q`` and ``vds3`` (docs/METHOD.md#the-quality-score-q).

``q = 0.28*sigmoid(z(vds)+z(frame_div)) + 0.18*sc + 0.14*exp(-|z(ppl)|)
    + 0.12*exp(-|z(amm)|) + 0.12*tnc + 0.10*cluster_rep + 0.06*cluster_hard``

with ``sc = sigmoid(0.6*z(vds) - 0.2*|z(ppl)|)`` where SC is missing, and
``vds3 = -z(loss_visual) + z(loss_blind) + z(frame_div)``. Ablations drop the VDS,
PPL or SC terms (and stop requiring their columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gdo.columns import (
    AMM,
    CLUSTER_HARD,
    CLUSTER_REP,
    FRAME_DIV,
    LOSS_BLIND,
    LOSS_VISUAL,
    PPL,
    SC,
    SC_FALLBACK,
    SC_USED,
    TNC,
    VDS,
    VDS3,
    Z_PPL,
    Z_Q,
    Q,
    z,
)
from gdo.scoring.config import DROPPABLE, ScoreConf
from gdo.utils.errors import ConfigError, InputError
from gdo.utils.stats import robust_z


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, overflow-safe."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def check_drop(conf: ScoreConf) -> set[str]:
    """The validated set of dropped descriptors."""
    drop = {str(d).lower() for d in conf.drop}
    bad = drop - set(DROPPABLE)
    if bad:
        raise ConfigError(f"score.drop: unknown descriptor(s) {sorted(bad)}; use {list(DROPPABLE)}")
    return drop


def required_columns(conf: ScoreConf) -> list[str]:
    """Raw descriptor columns the score needs under this config (ablations drop some)."""
    drop = check_drop(conf)
    w = conf.weights
    cols = [TNC]  # the temporal tag and stratum need it whatever the weights
    if VDS not in drop:
        cols += [LOSS_VISUAL, LOSS_BLIND, FRAME_DIV]  # vds3
        if w.visual_dependency:
            cols += [VDS]
    if PPL not in drop:
        cols += [PPL]
    if w.motion:
        cols += [AMM]
    if w.coverage_rep or w.coverage_hard:
        cols += [CLUSTER_REP, CLUSTER_HARD]
    return list(dict.fromkeys(cols))


@dataclass
class QualityResult:
    """Per-row q and vds3 for the kept rows, plus what was excluded and why."""

    frame: pd.DataFrame  # uid, q, z_q, vds3, sc_used, sc_fallback, z_ppl (if used)
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> count
    sc_fallback_rows: int = 0
    dropped: list[str] = field(default_factory=list)
    kept: np.ndarray | None = None  # bool mask over the input rows


def _z(desc: pd.DataFrame, col: str) -> np.ndarray:
    """The describe stage's ``z_<col>`` when present, else a robust z of the raw column."""
    zc = z(col)
    if zc in desc.columns:
        return desc[zc].to_numpy(dtype=np.float64)
    return robust_z(desc[col].to_numpy(dtype=np.float64))


def quality_score(desc: pd.DataFrame, conf: ScoreConf, file: str = "descriptors") -> QualityResult:
    """Compute q and vds3 for every row of ``desc`` with finite inputs.

    Rows with a NaN/inf in a required column are excluded and counted per column
    (``nonfinite_<col>``), never scored as 0. A missing required column raises an
    InputError naming all of them.
    """
    drop = check_drop(conf)
    need = required_columns(conf)
    missing = [c for c in need if c not in desc.columns]
    # A column that is NaN everywhere (a disabled descriptor) is as missing as an absent one:
    # excluding every candidate row by row would hide the real cause.
    missing += [
        f"{c} (NaN in every row)"
        for c in need
        if c in desc.columns
        and len(desc)
        and not np.isfinite(desc[c].to_numpy(dtype=np.float64)).any()
    ]
    if missing:
        raise InputError(
            file,
            None,
            ", ".join(missing),
            f"descriptor columns {need} (drop one with score.drop=[vds|ppl|sc])",
            got=f"columns {sorted(desc.columns)[:40]}",
        )
    w = conf.weights
    zs = {c: _z(desc, c) for c in need if c != TNC}
    raw = {c: desc[c].to_numpy(dtype=np.float64) for c in need}
    ok = np.ones(len(desc), dtype=bool)
    excluded: dict[str, int] = {}
    for c in need:
        bad = ~np.isfinite(raw[c]) | (~np.isfinite(zs[c]) if c in zs else False)
        n_new = int((bad & ok).sum())
        if n_new:
            excluded[f"nonfinite_{c}"] = n_new
        ok &= ~bad

    q = np.zeros(len(desc))
    if VDS not in drop and w.visual_dependency:
        q += w.visual_dependency * sigmoid(zs[VDS] + zs[FRAME_DIV])
    if PPL not in drop and w.difficulty:
        q += w.difficulty * np.exp(-np.abs(zs[PPL]))
    if w.motion:
        q += w.motion * np.exp(-np.abs(zs[AMM]))
    q += w.temporal_necessity * raw[TNC]
    if w.coverage_rep or w.coverage_hard:
        q += w.coverage_rep * raw[CLUSTER_REP] + w.coverage_hard * raw[CLUSTER_HARD]

    sc_used = np.full(len(desc), np.nan)
    fallback = np.zeros(len(desc), dtype=bool)
    if SC not in drop and w.self_consistency:
        sc = desc[SC].to_numpy(dtype=np.float64) if SC in desc.columns else sc_used.copy()
        fallback = ~np.isfinite(sc)
        if fallback.any() and not conf.sc_fallback:
            n_new = int((fallback & ok).sum())
            if n_new:
                excluded["nonfinite_sc"] = n_new
            ok &= ~fallback
            fallback[:] = False
        elif fallback.any():
            fb = conf.sc_fallback_weights
            arg = np.zeros(len(desc))
            if VDS not in drop and VDS in zs:
                arg += fb.vds * zs[VDS]
            elif VDS not in drop and VDS in desc.columns:
                arg += fb.vds * _z(desc, VDS)
            if PPL not in drop:
                arg -= fb.ppl * np.abs(zs[PPL])
            sc = np.where(fallback, sigmoid(arg), sc)
            bad_fb = fallback & ~np.isfinite(sc)
            if (bad_fb & ok).any():
                excluded["nonfinite_sc_fallback"] = int((bad_fb & ok).sum())
            ok &= ~bad_fb
        sc_used = sc
        q = q + w.self_consistency * np.where(np.isfinite(sc), sc, 0.0)

    if VDS in drop:
        # Without VDS there is no visual-dependency signal: vds3 is neutral for everyone.
        vds3 = np.zeros(len(desc))
    else:
        vds3 = -zs[LOSS_VISUAL] + zs[LOSS_BLIND] + zs[FRAME_DIV]

    out = pd.DataFrame(
        {
            "uid": desc["uid"].to_numpy(),
            Q: q.astype(np.float32),
            VDS3: vds3.astype(np.float32),
            SC_USED: sc_used.astype(np.float32),
            SC_FALLBACK: fallback,
            TNC: raw[TNC].astype(np.float32),
            Z_PPL: (zs[PPL] if PPL in zs else np.zeros(len(desc))).astype(np.float32),
        }
    )
    if CLUSTER_REP in raw:
        out[CLUSTER_HARD] = raw[CLUSTER_HARD].astype(np.float32)
    out = out[ok].reset_index(drop=True)
    out[Z_Q] = robust_z(out[Q].to_numpy()).astype(np.float32)
    return QualityResult(
        frame=out,
        excluded=excluded,
        sc_fallback_rows=int(out[SC_FALLBACK].sum()),
        dropped=sorted(drop),
        kept=ok,
    )
