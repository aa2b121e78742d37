"""``gdo frontier``: the frontier table, deltas with paired CIs, peak match, plots, report.

Reads ``gdo evaluate``'s summaries (and imported lmms-eval results), writes into
``<work_dir>/frontier/``: ``frontier.parquet`` (one row per goal x seed x checkpoint x
benchmark), ``main.parquet`` / ``subtasks.parquet`` / ``results.json`` (each goal vs the
baseline), ``plots/*.png`` and ``report.md``, and logs them (W&B offline by default).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from gdo.evaluation.checkpoints import benchmark_specs
from gdo.evaluation.config import FrontierConf
from gdo.frontier.analysis import Comparison, as_records, compare
from gdo.frontier.lmms_eval import import_lmms_eval
from gdo.frontier.plots import plot_dumbbell, plot_frontier, plot_subtask_heatmap
from gdo.frontier.pooled import add_pooled, read_tags
from gdo.frontier.report import render
from gdo.frontier.table import collect
from gdo.utils.errors import InputError
from gdo.utils.io import atomic_write_json, atomic_write_parquet, atomic_write_text
from gdo.utils.manifest import content_hash, file_hash, is_fresh, to_plain, write_manifest
from gdo.utils.stage import stage_dir, work_dir, world_dir
from gdo.utils.typed import typed

log = logging.getLogger(__name__)


def primary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows the comparison uses: gdo's own evaluation when there is any, else lmms-eval."""
    own = table[table["source"] == "gdo"]
    return own if len(own) else table[table["source"] == "lmms_eval"]


def input_files(work: Path) -> list[Path]:
    """Every file the frontier reads (evaluation summaries, lmms-eval results)."""
    files = sorted((work / "eval").glob("*/ckpt-*/*.summary.json"))
    return files + sorted((work / "lmms_eval").rglob("*results*.json"))


def build(
    table: pd.DataFrame, out: Path, fc: FrontierConf, title: str, cfg: DictConfig
) -> tuple[Path, Comparison]:
    """Compare, plot and report a frontier table into ``out`` as ``fc`` says; return the
    report path. ``cfg`` (the root config) only names the run to the logger."""
    atomic_write_parquet(out / "frontier.parquet", table)
    rows = primary_rows(table)
    comp = compare(
        rows,
        fc.baseline,
        n_boot=int(fc.n_bootstrap),
        ci=float(fc.ci),
        seed=int(fc.seed),
        subtask_fields=fc.subtask_fields,
    )
    atomic_write_parquet(out / "main.parquet", comp.main)
    atomic_write_parquet(out / "subtasks.parquet", comp.subtasks)
    atomic_write_json(
        out / "results.json",
        {
            "baseline": fc.baseline,
            "main": as_records(comp.main),
            "subtasks": as_records(comp.subtasks),
        },
    )
    pngs = []
    if fc.plots:
        plots = out / "plots"
        pngs.append(plot_frontier(rows, plots / "frontier.png", fc.baseline, comp.main, fc.log_x))
        if len(comp.main) and comp.main["baseline_acc"].notna().any():
            pngs.append(plot_dumbbell(comp.main, plots / "dumbbell.png", fc.baseline))
        if len(comp.subtasks):
            pngs.append(plot_subtask_heatmap(comp.subtasks, plots / "subtasks.png"))
    text = render(
        comp.main,
        comp.subtasks,
        rows,
        title=title,
        baseline=fc.baseline,
        ci=float(fc.ci),
        n_boot=int(fc.n_bootstrap),
    )
    report = atomic_write_text(out / "report.md", text)
    _log(cfg, fc.baseline, rows, comp, pngs, out)
    return report, comp


def run(cfg: DictConfig) -> Path:
    """Build the frontier of ``cfg``'s experiment folder; return ``frontier/report.md``."""
    fc = typed(cfg.eval.frontier, FrontierConf, "eval.frontier")
    work = work_dir(cfg)
    files = input_files(work)
    if fc.question_tags and Path(fc.question_tags).exists():
        files.append(Path(fc.question_tags))
    key = content_hash(fc, [(str(f), file_hash(f)) for f in files])
    out = stage_dir(cfg, "frontier")
    if is_fresh(out, key) and (out / "report.md").exists():
        return out / "report.md"
    extra = None
    if fc.include_lmms_eval:
        extra = import_lmms_eval(work / "lmms_eval", benchmark_specs(cfg, world_dir(cfg)))
    pools = fc.pools
    tags, untagged = read_tags(fc.question_tags, pools)
    if untagged:
        log.warning(
            "frontier: pools %s left out: no question tags at eval.frontier.question_tags=%s",
            untagged,
            fc.question_tags,
        )

    def pooled(rows: pd.DataFrame) -> pd.DataFrame:
        return add_pooled(
            rows,
            out / "pooled",
            pools,
            tags,
            n_boot=int(fc.n_bootstrap) // 2,
            ci=float(fc.ci),
            seed=int(fc.seed),
        )

    table = collect(
        work,
        n_boot=int(fc.n_bootstrap) // 2,
        ci=float(fc.ci),
        seed=int(fc.seed),
        extra=extra,
        pooled=pooled,
    )
    if table.empty:
        raise InputError(
            str(work / "eval"),
            None,
            None,
            "evaluation results (run `gdo evaluate` first)",
            got="none",
        )
    report, comp = build(table, out, fc, str(cfg.name), cfg)
    write_manifest(
        out,
        stage="frontier",
        key=key,
        config=to_plain(fc),
        inputs={"eval_files": str(len(files))},
        counts={
            "rows": len(table),
            "goals": int(table["goal"].nunique()),
            "benchmarks": int(table["benchmark"].nunique()),
            "lmms_eval_rows": int((table["source"] == "lmms_eval").sum()),
            "peak_not_reached": int((~comp.main["peak_reached"]).sum()) if len(comp.main) else 0,
            "unpaired_questions": int(comp.main["n_unpaired"].sum()) if len(comp.main) else 0,
            "pools_without_tags": untagged,
        },
        seed=int(cfg.seed),
    )
    return report


def _log(
    cfg: DictConfig,
    baseline: str,
    rows: pd.DataFrame,
    comp: Comparison,
    pngs: list[Path],
    out: Path,
) -> None:
    from gdo.logging import get_logger

    logger = get_logger(cfg, job_type="frontier")
    try:
        logger.log_table("frontier/table", rows.drop(columns=["eval_dir"]))
        if len(comp.main):
            logger.log_table("frontier/main", comp.main)
            logger.log(
                {
                    f"frontier/{r['benchmark']}/{r['goal']}/delta": r["delta"]
                    for _, r in comp.main.iterrows()
                }
            )
        if len(comp.subtasks):
            logger.log_table("frontier/subtasks", comp.subtasks)
        for (bench, goal), g in rows.groupby(["benchmark", "goal"]):
            curve = g.groupby("samples", as_index=False)["accuracy"].mean()
            logger.log_line(
                f"frontier/{bench}/{goal}", curve, "samples", "accuracy", title=f"{bench}: {goal}"
            )
        for png in pngs:
            logger.log_image(f"frontier/{png.stem}", png)
        # Accuracy against samples seen, one series per benchmark x goal (define_metric).
        logger.log_curves("accuracy", rows, "samples", "accuracy", ["benchmark", "goal"])
        tables = ("frontier.parquet", "main.parquet", "subtasks.parquet", "results.json")
        logger.log_artifact(
            f"frontier-{cfg.name}",
            "frontier",
            [out / f for f in (*tables, "report.md")],
            {"baseline": baseline, "rows": len(rows)},
        )
    finally:
        logger.finish()
