"""``gdo inspect PATH [--goal NAME] [key=value ...]``: write the static browser page.

PATH is a subset folder (``outputs/<name>/subsets/<goal>/``: its goal, select config and
seed come from its manifest), a pool.parquet / pool folder / work dir (``--goal`` adds a
goal's selection, composed from ``conf/goal/<NAME>.yaml`` plus the overrides). The page
(``<PATH>/inspect.html`` unless ``--out``) embeds every frame, so it opens offline.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from gdo.utils.errors import GdoError

log = logging.getLogger("gdo.inspect")


def goal_from_config(name: str, overrides: list[str], work_dir: Path):
    """(goal, select, seed, reference_count) composed the way ``gdo select goal=NAME`` does."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import gdo.config
    from gdo.selection.config import GoalConf, SelectConf
    from gdo.selection.stage import reference_count_for
    from gdo.utils.conf import conf_dir
    from gdo.utils.typed import typed

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        cfg = compose(config_name="config", overrides=[f"goal={name}", *overrides])
    gdo.config.check_config(cfg)
    goal = typed(cfg.goal, GoalConf, "goal")
    select = typed(cfg.select, SelectConf, "select")
    return goal, select, int(cfg.seed), reference_count_for(goal, work_dir)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gdo inspect``; returns the exit code."""
    from gdo.inspect.load import build_view, resolve
    from gdo.inspect.page import render, write_page
    from gdo.inspect.thumbs import frame_strips

    ap = argparse.ArgumentParser(prog="gdo inspect", description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="subset folder, pool.parquet, pool folder or work dir")
    ap.add_argument("overrides", nargs="*", help="config overrides for --goal (key=value)")
    ap.add_argument("--goal", help="replay this goal's selection (conf/goal/<NAME>.yaml)")
    ap.add_argument("--out", help="the HTML file (default: <PATH>/inspect.html)")
    ap.add_argument("--limit", type=int, default=3000, help="rows in the page (picked first)")
    ap.add_argument("--frames", type=int, default=4, help="frames per thumbnail strip")
    args = ap.parse_intermixed_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        inputs = resolve(args.path)
        goal_cfg = None
        if args.goal:
            goal_cfg = goal_from_config(args.goal, args.overrides, inputs.work_dir)
        view = build_view(inputs, goal_cfg, limit=args.limit)
        media = pd.read_parquet(inputs.pool, columns=["uid", "media_kind", "media"])
        media = view.rows[["uid"]].merge(media, on="uid", how="left")
        keys = [
            f"{k}\x1f{'|'.join(map(str, m))}" for k, m in zip(media["media_kind"], media["media"])
        ]
        codes, uniq = pd.factorize(pd.Series(keys, dtype=object))
        first = pd.Series(range(len(codes))).groupby(codes).first().to_numpy()
        strips, errors = frame_strips(
            media["media_kind"].to_numpy()[first].tolist(),
            [media["media"].iloc[i] for i in first],
            args.frames,
        )
        base = inputs.subset or (
            inputs.pool.parent if args.path.endswith(".parquet") else Path(args.path)
        )
        out = Path(args.out) if args.out else base / "inspect.html"
        write_page(out, render(view, strips, errors, codes.tolist()))
    except GdoError as exc:
        print(f"gdo inspect: error: {exc}", file=sys.stderr)
        return 1
    print(f"gdo inspect: {len(view.rows)} rows -> {out}")
    return 0
