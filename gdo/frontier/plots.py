"""The paper's three figures: accuracy vs training samples, dumbbells, subtask heatmaps."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from gdo.utils.io import atomic_path  # noqa: E402


def goal_colors(goals: list[str], baseline: str) -> dict[str, str]:
    """One stable colour per goal (the baseline is black) shared by every figure."""
    others = sorted(g for g in goals if g != baseline)
    colors = {g: f"C{i % 10}" for i, g in enumerate(others)}
    colors[baseline] = "black"
    return colors


def _grid(n: int) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(2, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(6.2 * cols, 4.2 * rows), squeeze=False, layout="constrained"
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _save(fig: plt.Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        # constrained layout instead of bbox_inches="tight": one draw pass, not two
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def use_log_x(samples: np.ndarray, log_x: str = "auto") -> bool:
    """Log-x when asked, or (auto) when the positive sample counts span over a decade."""
    if log_x in ("on", "true", True):
        return True
    if log_x in ("off", "false", False):
        return False
    pos = samples[samples > 0]
    return pos.size > 1 and pos.max() / pos.min() > 10


def plot_frontier(
    table: pd.DataFrame,
    path: str | Path,
    baseline: str = "uniform",
    main: pd.DataFrame | None = None,
    log_x: str = "auto",
) -> Path:
    """Accuracy vs training samples, one panel per benchmark and one line per goal.

    The baseline's final accuracy is a dashed reference line; a goal's peak match is a
    star on it (hollow when interpolated). The band is the spread over seeds, or the
    bootstrap interval of each point for a single seed.
    """
    benches = sorted(table["benchmark"].unique())
    colors = goal_colors(list(table["goal"].unique()), baseline)
    fig, axes = _grid(len(benches))
    for ax, bench in zip(axes, benches):
        rows = table[table["benchmark"] == bench]
        for goal, g in rows.groupby("goal", sort=True):
            c = g.groupby("samples").agg(
                acc=("accuracy", "mean"),
                lo=("acc_lo", "mean"),
                hi=("acc_hi", "mean"),
                smin=("accuracy", "min"),
                smax=("accuracy", "max"),
                seeds=("seed", "nunique"),
            )
            lo, hi = (c["smin"], c["smax"]) if c["seeds"].max() > 1 else (c["lo"], c["hi"])
            ax.plot(
                c.index,
                c["acc"],
                marker="o",
                ms=4,
                color=colors[goal],
                label=goal,
                lw=2 if goal != baseline else 1.5,
            )
            if np.isfinite(lo).any():
                ax.fill_between(c.index, lo, hi, color=colors[goal], alpha=0.12, lw=0)
        base = rows[(rows["goal"] == baseline) & rows["is_final"]]
        if len(base):
            target = base["accuracy"].mean()
            ax.axhline(
                target, color="black", ls="--", lw=1, label=f"{baseline} final ({target:.1f}%)"
            )
            if main is not None and len(main):
                for _, m in main[(main["benchmark"] == bench) & main["peak_reached"]].iterrows():
                    ax.plot(
                        [m["peak_match"]],
                        [target],
                        marker="*",
                        ms=13,
                        zorder=5,
                        color=colors.get(m["goal"], "C9"),
                        mfc="none" if m["peak_interpolated"] else colors.get(m["goal"]),
                    )
        if use_log_x(rows["samples"].to_numpy(float), log_x):
            pos = rows["samples"][rows["samples"] > 0]
            ax.set_xscale("symlog", linthresh=float(pos.min()) if len(pos) else 1.0)
            ax.set_xlim(left=0)  # no negative sample counts from the autoscale margin
        n = int(rows["n"].max())
        ax.set_title(f"{bench} (n={n}, {rows['mode'].iloc[0]})")
        ax.set_xlabel("training samples seen")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(
        "Accuracy vs training samples (star: peak match, hollow = interpolated; "
        "band: seed spread, or bootstrap CI for one seed)",
        fontsize=10,
    )
    return _save(fig, Path(path))


def plot_dumbbell(main: pd.DataFrame, path: str | Path, baseline: str = "uniform") -> Path:
    """Baseline vs each goal's final accuracy per benchmark, with the delta and its CI.

    Benchmarks without a baseline run are left out (there is nothing to compare with).
    """
    main = main[main["baseline_acc"].notna()]
    if main.empty:
        raise ValueError(f"no benchmark has a final '{baseline}' accuracy to compare with")
    benches = sorted(main["benchmark"].unique())
    colors = goal_colors(list(main["goal"].unique()) + [baseline], baseline)
    fig, axes = _grid(len(benches))
    for ax, bench in zip(axes, benches):
        rows = main[main["benchmark"] == bench].sort_values("goal").reset_index(drop=True)
        y = np.arange(len(rows))
        for i, r in rows.iterrows():
            ax.plot([r["baseline_acc"], r["goal_acc"]], [i, i], color="0.6", lw=2, zorder=1)
            ax.scatter(
                r["baseline_acc"],
                i,
                color="black",
                s=45,
                zorder=2,
                label=baseline if i == 0 else None,
            )
            ax.scatter(r["goal_acc"], i, color=colors[r["goal"]], s=70, zorder=3)
            ci = ""
            if np.isfinite(r["delta_lo"]):
                ci = f" [{r['delta_lo']:+.1f}, {r['delta_hi']:+.1f}]"
            elif np.isfinite(r.get("seed_lo", np.nan)):  # no per-question files: seed spread
                ci = f" [seeds {r['seed_lo']:+.1f}, {r['seed_hi']:+.1f}]"
            ax.annotate(
                f"{r['delta']:+.2f} pp{ci}",
                (max(r["baseline_acc"], r["goal_acc"]), i),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_yticks(y, rows["goal"].tolist())
        ax.set_ylim(-0.7, len(rows) - 0.3)
        lo = min(rows["baseline_acc"].min(), rows["goal_acc"].min())
        hi = max(rows["baseline_acc"].max(), rows["goal_acc"].max())
        pad = max(2.0, 0.15 * (hi - lo))
        ax.set_xlim(lo - pad, hi + 3.5 * pad)
        ax.set_xlabel("final accuracy (%)")
        ax.set_title(f"{bench}: {baseline} (black) vs goals (n={int(rows['n'].max())})")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    return _save(fig, Path(path))


def plot_subtask_heatmap(subs: pd.DataFrame, path: str | Path) -> Path:
    """Goals x subtasks delta (pp) vs the baseline, one panel per benchmark.

    Diverging colours centred at 0 on one symmetric scale shared by every panel, each
    cell annotated with its delta.
    """
    benches = sorted(subs["benchmark"].unique())
    grids = [
        subs[subs["benchmark"] == b].pivot_table(
            index="goal", columns="group", values="delta", aggfunc="mean"
        )
        for b in benches
    ]
    vals = np.concatenate([g.to_numpy(float).ravel() for g in grids]) if grids else np.array([])
    lim = max(float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 1.0, 1e-6)
    width = max(7.0, 0.8 * max((g.shape[1] for g in grids), default=1) + 3.0)
    heights = [0.55 * g.shape[0] + 1.9 for g in grids] or [2.0]
    fig, axes = plt.subplots(
        len(grids) or 1,
        1,
        figsize=(width, sum(heights)),
        squeeze=False,
        layout="constrained",
        gridspec_kw={"height_ratios": heights},
    )
    norm = TwoSlopeNorm(0.0, -lim, lim)
    im = None
    for ax, bench, grid in zip(axes[:, 0], benches, grids):
        v = grid.to_numpy(float)
        im = ax.imshow(v, cmap="RdBu", norm=norm, aspect="auto")
        ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(grid.shape[0]), grid.index)
        for (i, j), x in np.ndenumerate(v):
            if np.isfinite(x):
                ax.text(
                    j,
                    i,
                    f"{x:+.1f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if abs(x) > 0.6 * lim else "black",
                )
        field = subs[subs["benchmark"] == bench]["field"].iloc[0]
        ax.set_title(f"{bench}: delta vs baseline by {field} (pp)", fontsize=10)
        ax.set_ylabel("goal")
    if im is not None:
        fig.colorbar(im, ax=axes[:, 0].tolist(), label="accuracy delta (pp)", shrink=0.8)
    return _save(fig, Path(path))
