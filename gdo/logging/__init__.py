"""Metric loggers behind one small protocol: W&B (offline by default) or none.

Only rank 0 logs. ``WANDB_MODE`` in the environment wins over ``logger.mode``
(tests set it to ``disabled``). Runs are grouped by :func:`run_group`: ``logger.group``,
else one group per Hydra sweep (every point's stages and the sweep aggregate), else the
experiment name. Subsets and frontier tables go up as W&B Artifacts (``log_artifact``);
accuracy curves are charted against samples seen (``log_curves``, ``define_metric``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

from gdo.utils.manifest import to_plain
from gdo.utils.progress import is_rank_zero


class MetricLogger(Protocol):
    def log(self, metrics: dict[str, Any], step: int | None = None) -> None: ...
    def log_image(self, key: str, path: str | Path) -> None: ...
    def log_table(self, key: str, df) -> None: ...
    def log_artifact(self, name: str, kind: str, paths, metadata=None) -> None: ...
    def log_curves(self, prefix: str, df, x: str, y: str, by: list[str]) -> None: ...
    def finish(self) -> None: ...


class NullLogger:
    """Every call is a no-op."""

    run = None

    def log(self, metrics, step=None) -> None:
        pass

    def log_image(self, key, path) -> None:
        pass

    def log_table(self, key, df) -> None:
        pass

    def log_line(self, key, df, x, y, title="") -> None:
        pass

    def log_artifact(self, name, kind, paths, metadata=None) -> None:
        pass

    def log_curves(self, prefix, df, x, y, by) -> None:
        pass

    def finish(self) -> None:
        pass


def multirun_dir() -> str | None:
    """The running Hydra multirun's sweep folder, None outside a multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode
    except ImportError:  # pragma: no cover
        return None
    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    return str(hc.sweep.dir) if hc.mode == RunMode.MULTIRUN else None


def run_group(cfg, sweep_dir: str | Path | None = None) -> str:
    """The W&B group: ``logger.group``, else ``<name>-sweep-<sweep folder name>`` for every
    run of one sweep (``sweep_dir``, or the running multirun's), else the experiment name."""
    if cfg.logger.group:
        return str(cfg.logger.group)
    sweep_dir = sweep_dir or multirun_dir()
    if sweep_dir:
        return f"{cfg.name}-sweep-{Path(sweep_dir).name}"
    return str(cfg.name)


def artifact_name(name: str) -> str:
    """``name`` with every character W&B refuses in an artifact name replaced by ``-``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name)


class WandbLogger:
    """A W&B run; the resolved config is saved with it."""

    def __init__(
        self,
        cfg,
        job_type: str,
        name: str | None = None,
        dir: str | Path | None = None,
        group: str | None = None,
    ):
        import wandb

        self._wandb = wandb
        mode = os.environ.get("WANDB_MODE") or cfg.logger.mode
        out = Path(dir or cfg.paths.work_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=cfg.logger.project,
            entity=cfg.logger.entity,
            group=group or run_group(cfg),
            job_type=job_type,
            name=name,
            tags=list(cfg.logger.tags),
            mode=mode,
            dir=str(out),
            config=to_plain(cfg),
            reinit="finish_previous",
        )
        self._x_metrics: set[str] = set()

    def log(self, metrics, step=None) -> None:
        self.run.log(dict(metrics), step=step)

    def log_image(self, key, path) -> None:
        self.run.log({key: self._wandb.Image(str(path))})

    def log_table(self, key, df) -> None:
        self.run.log({key: self._wandb.Table(dataframe=df.reset_index(drop=True))})

    def log_line(self, key, df, x, y, title="") -> None:
        table = self._wandb.Table(dataframe=df[[x, y]].reset_index(drop=True))
        self.run.log({key: self._wandb.plot.line(table, x, y, title=title)})

    def log_artifact(self, name, kind, paths, metadata=None) -> None:
        """Upload the existing files of ``paths`` as one versioned artifact of type ``kind``."""
        art = self._wandb.Artifact(
            artifact_name(name), type=kind, metadata=to_plain(dict(metadata or {}))
        )
        for p in map(Path, paths):
            if p.is_file():
                art.add_file(str(p), name=p.name)
        self.run.log_artifact(art)

    def log_curves(self, prefix, df, x, y, by) -> None:
        """Chart ``y`` against ``x`` (not the step), one series ``<prefix>/<by values>`` each.

        ``define_metric`` makes ``x`` the x-axis of every ``<prefix>/*`` chart; each x value
        is one ``log`` call holding the series that have a point there (means over the rest).
        """
        if x not in self._x_metrics:
            self.run.define_metric(x)
            self._x_metrics.add(x)
        self.run.define_metric(f"{prefix}/*", step_metric=x)
        points = df.groupby([x, *by], as_index=False)[y].mean()
        for x_value, rows in points.groupby(x, sort=True):
            keys = ["/".join(str(v) for v in r) for r in rows[by].itertuples(index=False)]
            self.run.log(
                {x: _plain(x_value), **{f"{prefix}/{k}": float(v) for k, v in zip(keys, rows[y])}}
            )

    def finish(self) -> None:
        self.run.finish()


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def get_logger(cfg, job_type: str, name: str | None = None, dir=None, group: str | None = None):
    """The configured logger on rank 0, a NullLogger elsewhere or when switched off."""
    mode = os.environ.get("WANDB_MODE") or cfg.logger.mode
    if not is_rank_zero() or cfg.logger.name == "none" or mode == "disabled":
        return NullLogger()
    return WandbLogger(cfg, job_type=job_type, name=name, dir=dir, group=group)


__all__ = [
    "MetricLogger",
    "NullLogger",
    "WandbLogger",
    "artifact_name",
    "get_logger",
    "multirun_dir",
    "run_group",
]
