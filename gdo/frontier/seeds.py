"""Several seeds: one frontier over every seed's folder (mean and CI across seeds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gdo.evaluation.config import FrontierConf
from gdo.frontier.stage import build
from gdo.utils.errors import InputError
from gdo.utils.stage import stage_dir, work_dir
from gdo.utils.typed import typed


def aggregate_seeds(cfg: Any, configs: list[Any]) -> Path:
    """Join the seeds' ``frontier.parquet`` tables and build one frontier in ``cfg``'s folder.

    ``configs`` are the per-seed configs of ``gdo run`` (``<work_dir>-seed<k>``); the
    result goes to ``<work_dir>/frontier/`` with the delta's mean and a t-interval over
    seeds next to the paired bootstrap interval.
    """
    tables = []
    for c in configs:
        path = work_dir(c) / "frontier" / "frontier.parquet"
        if path.exists():
            t = pd.read_parquet(path)
            tables.append(t[~t["is_base"]] if "is_base" in t else t)
    if not tables:
        raise InputError(
            None, "run.seeds", None, "a frontier.parquet in each seed's folder", got="none"
        )
    from gdo.frontier.table import finish

    table = pd.concat(tables, ignore_index=True)
    base = [pd.read_parquet(work_dir(c) / "frontier" / "frontier.parquet") for c in configs[:1]]
    base_rows = base[0][base[0]["is_base"]].drop_duplicates(["benchmark", "source", "samples"])
    base_rows = base_rows.assign(run="base")
    table = finish(
        pd.concat([table, base_rows], ignore_index=True).drop(columns=["is_base", "is_final"])
    )
    fc = typed(cfg.eval.frontier, FrontierConf, "eval.frontier")
    report, _ = build(table, stage_dir(cfg, "frontier"), fc, f"{cfg.name} (seeds)", cfg)
    return report
