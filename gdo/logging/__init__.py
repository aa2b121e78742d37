"""Metric loggers behind one small protocol: W&B (offline by default) or none.

Only rank 0 logs. ``WANDB_MODE`` in the environment wins over ``logger.mode``
(tests set it to ``disabled``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from gdo.utils.manifest import to_plain
from gdo.utils.progress import is_rank_zero


class MetricLogger(Protocol):
    def log(self, metrics: dict[str, Any], step: int | None = None) -> None: ...
    def log_image(self, key: str, path: str | Path) -> None: ...
    def log_table(self, key: str, df) -> None: ...
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

    def finish(self) -> None:
        pass


class WandbLogger:
    """A W&B run; the resolved config is saved with it."""

    def __init__(self, cfg, job_type: str, name: str | None = None, dir: str | Path | None = None):
        import wandb

        self._wandb = wandb
        mode = os.environ.get("WANDB_MODE") or cfg.logger.mode
        out = Path(dir or cfg.paths.work_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=cfg.logger.project,
            entity=cfg.logger.entity,
            group=cfg.logger.group or cfg.name,
            job_type=job_type,
            name=name,
            tags=list(cfg.logger.tags),
            mode=mode,
            dir=str(out),
            config=to_plain(cfg),
            reinit="finish_previous",
        )

    def log(self, metrics, step=None) -> None:
        self.run.log(dict(metrics), step=step)

    def log_image(self, key, path) -> None:
        self.run.log({key: self._wandb.Image(str(path))})

    def log_table(self, key, df) -> None:
        self.run.log({key: self._wandb.Table(dataframe=df.reset_index(drop=True))})

    def log_line(self, key, df, x, y, title="") -> None:
        table = self._wandb.Table(dataframe=df[[x, y]].reset_index(drop=True))
        self.run.log({key: self._wandb.plot.line(table, x, y, title=title)})

    def finish(self) -> None:
        self.run.finish()


def get_logger(cfg, job_type: str, name: str | None = None, dir=None):
    """The configured logger on rank 0, a NullLogger elsewhere or when switched off."""
    mode = os.environ.get("WANDB_MODE") or cfg.logger.mode
    if not is_rank_zero() or cfg.logger.name == "none" or mode == "disabled":
        return NullLogger()
    return WandbLogger(cfg, job_type=job_type, name=name, dir=dir)
