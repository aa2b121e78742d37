"""Sweeps: the aggregate frontier across every point of a Hydra multirun.

Each sweep point is a ``gdo run`` whose seed- and weight-independent artifacts
(pool, base model, descriptors) are linked from one base experiment
(``run.share_from``), so a sweep pays for one descriptor pass. Each point leaves
``gdo_run.json`` in its Hydra job folder; :class:`SweepAggregate` (a Hydra
callback, enabled by the ``sweep/*`` configs) reads them all when the multirun
ends, writes ``aggregate/frontier_points.parquet`` and draws, per benchmark, every
point's accuracy-vs-samples curve with the Pareto front (fewest samples for the
highest accuracy) and the uniform baseline's final accuracy as a reference.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.experimental.callback import Callback

from gdo.utils.io import atomic_write_json, atomic_write_parquet

log = logging.getLogger(__name__)
POINTER = "gdo_run.json"


def pareto_front(samples: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both axes (fewer samples, higher acc).

    Returned sorted by samples; ties on samples keep the most accurate point only.
    """
    order = np.lexsort((-accuracy, samples))
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] > best:
            front.append(i)
            best = accuracy[i]
    return np.asarray(front, dtype=int)


def collect(sweep_dir: str | Path) -> pd.DataFrame:
    """One row per (sweep point, goal, checkpoint, benchmark) from the points' frontier tables."""
    frames = []
    for pointer in sorted(Path(sweep_dir).glob(f"*/{POINTER}")):
        info = json.loads(pointer.read_text())
        table = Path(info["work_dir"]) / "frontier" / "frontier.parquet"
        if not table.exists():
            log.warning("sweep point %s has no frontier table (%s)", pointer.parent.name, table)
            continue
        df = pd.read_parquet(table)
        df["point"] = pointer.parent.name
        df["overrides"] = " ".join(info.get("overrides", []))
        df["objective"] = info.get("objective")
        frames.append(df)
    if not frames:
        raise FileNotFoundError(f"{sweep_dir}: no sweep point left a frontier table ({POINTER})")
    return pd.concat(frames, ignore_index=True)


def aggregate(sweep_dir: str | Path, baseline: pd.DataFrame | None = None) -> Path:
    """Write the aggregate table and one Pareto-front plot per benchmark; return the folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep_dir = Path(sweep_dir)
    out = sweep_dir / "aggregate"
    df = collect(sweep_dir)
    atomic_write_parquet(out / "frontier_points.parquet", df)
    points = df[df["goal"] != "uniform"]
    summary: dict[str, Any] = {}
    for bench, rows in points.groupby("benchmark"):
        x, y = rows["samples"].to_numpy(float), rows["accuracy"].to_numpy(float)
        front = rows.iloc[pareto_front(x, y)]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for _, curve in rows.groupby(["point", "goal"]):
            curve = curve.sort_values("samples")
            ax.plot(curve["samples"], curve["accuracy"], color="0.75", lw=1, marker=".")
        ax.plot(
            front["samples"], front["accuracy"], color="C3", lw=2, marker="o", label="Pareto front"
        )
        base = df[(df["goal"] == "uniform") & (df["benchmark"] == bench)]
        if baseline is not None:
            base = baseline[baseline["benchmark"] == bench]
        if not base.empty:
            final = base.sort_values("samples").iloc[-1]
            ax.axhline(
                final["accuracy"],
                color="k",
                ls="--",
                lw=1,
                label=f"uniform final ({final['accuracy']:.1f}% @ {int(final['samples'])})",
            )
        ax.set_xlabel("training samples seen")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{bench}: {rows['point'].nunique()} sweep points")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / f"pareto_{bench}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        best = rows.loc[rows["accuracy"].idxmax()]
        summary[str(bench)] = {
            "plot": str(path),
            "best_point": str(best["point"]),
            "best_overrides": str(best["overrides"]),
            "best_accuracy": float(best["accuracy"]),
            "front": front[["point", "goal", "samples", "accuracy"]].to_dict("records"),
        }
    atomic_write_json(out / "summary.json", summary)
    return out


class SweepAggregate(Callback):
    """Hydra callback: aggregate the sweep and log it to one W&B group at the end."""

    def __init__(self, log_wandb: bool = True) -> None:
        self.log_wandb = log_wandb

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            out = aggregate(sweep_dir)
        except FileNotFoundError as err:
            log.warning("sweep aggregate skipped: %s", err)
            return
        print(f"sweep aggregate: {out}")
        if self.log_wandb:
            from gdo.logging import get_logger, run_group

            # The same group as every point's runs (gdo.logging.run_group of this sweep).
            group = run_group(config, sweep_dir)
            logger = get_logger(config, job_type="sweep-aggregate", dir=sweep_dir, group=group)
            for png in sorted(out.glob("pareto_*.png")):
                logger.log_image(f"sweep/{png.stem}", png)
            points = pd.read_parquet(out / "frontier_points.parquet")
            logger.log_table("sweep/points", points)
            logger.log_curves(
                "sweep/accuracy", points, "samples", "accuracy", ["benchmark", "point", "goal"]
            )
            logger.log_artifact(
                f"sweep-{sweep_dir.name}",
                "sweep-aggregate",
                [out / "frontier_points.parquet", out / "summary.json"],
                {"points": int(points["point"].nunique())},
            )
            logger.finish()


def write_pointer(cfg, work_dir: Path, objective: float | None) -> None:
    """Leave ``gdo_run.json`` in the Hydra job folder so the aggregate can find this point."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    hc = HydraConfig.get()
    atomic_write_json(
        Path(hc.runtime.output_dir) / POINTER,
        {
            "work_dir": str(work_dir),
            "overrides": list(hc.overrides.task),
            "objective": objective,
            "job_num": hc.job.get("num"),
        },
    )
