"""``report.md``: the paper's main-results layout, the per-preset table and subtask deltas."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def fmt_samples(x: float | None) -> str:
    """``35400`` -> ``35.4k``; ``1.2e6`` -> ``1.20M``; None -> ``-``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def _num(x: Any, spec: str = ".2f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _ci(lo: float, hi: float, ci: float) -> str:
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return ""
    return f" [{lo:+.2f}, {hi:+.2f}]"


def _missing(table: pd.DataFrame) -> str:
    rows = table[table["n_video_missing"] >= 0]
    if rows.empty:
        return "not recorded"
    worst = rows.groupby("benchmark")["n_video_missing"].max()
    return ", ".join(f"{b} {int(n)}" for b, n in worst.items())


def _seeds(row: pd.Series) -> str:
    if row["n_seeds"] < 2 or pd.isna(row["seed_lo"]):
        return ""
    return f" (seeds: [{row['seed_lo']:+.2f}, {row['seed_hi']:+.2f}])"


def peak_text(row: pd.Series) -> str:
    """Peak match as the report shows it: ``26.6k``, ``26.6k (interp.)`` or ``not reached``."""
    if pd.isna(row["baseline_acc"]):
        return "no baseline"
    if not row["peak_reached"]:
        return "not reached"
    if row["peak_match"] == 0:
        text = "0 (base model)"
    else:
        text = fmt_samples(row["peak_match"]) + (" (interp.)" if row["peak_interpolated"] else "")
    # A baseline no better than the base model is "reached" by any curve: flag it.
    return text + (" †" if row.get("baseline_beats_base") is False else "")


def _baseline_verdict(r: pd.Series) -> str:
    """``learned`` (CI above 0), ``below the base model †`` (CI below 0), else ``not
    significant †``; empty without a comparison."""
    beats = r.get("baseline_beats_base")
    if beats is None or pd.isna(beats):
        return ""
    if beats:
        return "learned"
    if r.get("baseline_gain_hi") is not None and r["baseline_gain_hi"] < 0:
        return "below the base model †"
    return "not significant †"


def _baseline_vs_base(main: pd.DataFrame, baseline: str, pct: int) -> list[str]:
    """Did the baseline learn anything? (Peak match is only meaningful if it did.)"""
    if main.empty or "baseline_beats_base" not in main:
        return []
    lines = ["", f"## {baseline} vs the base model", ""]
    lines += [
        f"| benchmark | base model | {baseline} | gain pp [{pct}% CI] | |",
        "|---|---|---|---|---|",
    ]
    for _, r in main.drop_duplicates("benchmark").iterrows():
        if pd.isna(r["base_model_acc"]):
            continue
        gain = r["baseline_acc"] - r["base_model_acc"]
        verdict = _baseline_verdict(r)
        lines.append(
            f"| {r['benchmark']} | {_num(r['base_model_acc'])} | {_num(r['baseline_acc'])} "
            f"| {_num(gain, '+.2f')}{_ci(r['baseline_gain_lo'], r['baseline_gain_hi'], pct / 100)} "
            f"| {verdict} |"
        )
    return lines


# The reduction the paper claims for its goals ("Less Data"): the baseline is ten times larger.
CLAIM_REDUCTION = 10.0


def _claim(main: pd.DataFrame, baseline: str, pct: int) -> list[str]:
    """Per goal: does it reach the baseline's final accuracy with 1/10 of its samples
    (reduction >= 10x) on each suite and on the pooled rows, and is its own final accuracy
    significantly below the baseline's? Suites are counted twice: every suite reached within
    1/10, and those of them where the baseline learned something (elsewhere any curve
    "reaches" it); the pooled rows count only the latter."""
    if main.empty or main["baseline_acc"].isna().all():
        return []
    pooled = main["kind"] == "pooled"
    lines = [
        "",
        f"## Reduction >= {CLAIM_REDUCTION:.0f}x, goal by goal",
        "",
        f"A goal reaches {baseline} on a benchmark when its curve reaches {baseline}'s final "
        f"accuracy within 1/{CLAIM_REDUCTION:.0f} of {baseline}'s samples; it meets the claim "
        f"there when {baseline} is also significantly above the base model there; 'below' "
        f"marks a final accuracy significantly below {baseline}'s ({pct}% paired CI).",
        "",
        "| goal | pooled rows meeting it | suites reached | of those, suites meeting it | "
        f"final accuracy significantly below {baseline} on |",
        "|---|---|---|---|---|",
    ]
    for goal, g in main.groupby("goal", sort=True):
        reached = g["reduction"].fillna(0).astype(float) >= CLAIM_REDUCTION
        met = reached & g["baseline_beats_base"].fillna(False).astype(bool)
        below = g[g["delta_hi"].notna() & (g["delta_hi"] < 0)]["benchmark"]
        suites = g[~pooled.loc[g.index]]
        pools = g[pooled.loc[g.index]]
        lines.append(
            f"| {goal} | {_names(pools, met)} | {_count(suites, reached)} | "
            f"{_count(suites, met)} | {', '.join(below) or 'none'} |"
        )
    return lines


def _count(rows: pd.DataFrame, hit: pd.Series) -> str:
    return f"{int(hit[rows.index].sum())} of {len(rows)}{_which(rows, hit)}"


def _names(rows: pd.DataFrame, met: pd.Series) -> str:
    if rows.empty:
        return "-"
    return ", ".join(f"{b}: {'yes' if met[i] else 'no'}" for i, b in rows["benchmark"].items())


def _which(rows: pd.DataFrame, met: pd.Series) -> str:
    hit = [b for i, b in rows["benchmark"].items() if met[i]]
    return f" ({', '.join(hit)})" if hit else ""


def render(
    main: pd.DataFrame,
    subs: pd.DataFrame,
    table: pd.DataFrame,
    *,
    title: str,
    baseline: str,
    ci: float,
    n_boot: int,
) -> str:
    """The Markdown report of one frontier."""
    pct = int(round(ci * 100))
    lines = [f"# Frontier: {title}", ""]
    modes = sorted(set(table["mode"].astype(str)))
    prompts = sorted(set(table["prompt_version"].astype(str)))
    extracts = sorted(set(table["extract_version"].astype(str)))
    lines += [
        f"- scoring mode: {', '.join(modes)}; prompt version: {', '.join(prompts)}; "
        f"extraction version: {', '.join(extracts)}",
        f"- baseline: `{baseline}` (its final checkpoint); deltas are paired over the same "
        f"questions, {pct}% bootstrap CI ({n_boot} resamples, within-subtask for macro-averaged "
        "benchmarks); with several seeds the delta is the mean over seeds",
        "- peak match: samples at which the goal's curve first reaches the baseline's final "
        "accuracy, linearly interpolated between checkpoints when marked (interp.); "
        "reduction = baseline samples / peak match; † = the baseline's final accuracy is not "
        f"significantly above the base model's ({pct}% paired CI covers 0), so reaching it "
        "says nothing about the goal",
        f"- missing videos (never sent to the model; MVBench leaves them out of its "
        f"answered-only denominator, the others count them wrong): {_missing(table)}",
        "",
        "## Main results",
        "",
        f"| benchmark | {baseline} | goal | delta pp [{pct}% CI] | peak match | reduction |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in main.iterrows():
        red = "-" if r["reduction"] is None or pd.isna(r["reduction"]) else f"{r['reduction']:.1f}x"
        if r.get("baseline_beats_base") is False and red != "-":
            red = f"({red}) †"  # shown, but meaningless: see the baseline-vs-base table
        seeds = f", {r['n_seeds']} seeds" if r["n_seeds"] > 1 else ""
        lines.append(
            f"| {r['benchmark']} (n={r['n']}) | {_num(r['baseline_acc'])} "
            f"@ {fmt_samples(r['baseline_samples'])} | {r['goal']}: {_num(r['goal_acc'])}{seeds} "
            f"| {_num(r['delta'], '+.2f')}{_ci(r['delta_lo'], r['delta_hi'], ci)}{_seeds(r)} "
            f"| {peak_text(r)} | {red} |"
        )
    if main.empty:
        lines.append("| (no goal to compare) | | | | | |")
    lines += _claim(main, baseline, pct)
    lines += _baseline_vs_base(main, baseline, pct)
    lines += ["", "## Per preset (accuracy, delta vs baseline)", ""]
    benches = sorted(main["benchmark"].unique()) if len(main) else []
    lines += ["| goal | " + " | ".join(benches) + " |", "|---" * (len(benches) + 1) + "|"]
    if len(main):
        first = main.drop_duplicates("benchmark").set_index("benchmark")
        lines.append(
            f"| {baseline} | "
            + " | ".join(_num(first.loc[b, "baseline_acc"]) for b in benches)
            + " |"
        )
        for goal, g in main.groupby("goal", sort=True):
            g = g.set_index("benchmark")
            cells = [
                f"{_num(g.loc[b, 'goal_acc'])} ({g.loc[b, 'delta']:+.2f})" if b in g.index else "-"
                for b in benches
            ]
            lines.append(f"| {goal} | " + " | ".join(cells) + " |")
    if len(subs):
        lines += ["", "## Subtasks (delta pp vs baseline)", ""]
        goals = sorted(subs["goal"].unique())
        lines += [
            f"| benchmark | group | n | {baseline} | " + " | ".join(goals) + " |",
            "|---" * (4 + len(goals)) + "|",
        ]
        for (bench, group), g in subs.groupby(["benchmark", "group"], sort=True):
            g = g.set_index("goal")
            cells = [f"{g.loc[x, 'delta']:+.1f}" if x in g.index else "-" for x in goals]
            lines.append(
                f"| {bench} | {group} | {int(g['n'].iloc[0])} | "
                f"{_num(g['baseline_acc'].iloc[0], '.1f')} | " + " | ".join(cells) + " |"
            )
    lines += ["", "## Checkpoints (accuracy %, n, bootstrap CI)", ""]
    lines += [
        "| benchmark | goal | seed | samples | accuracy | CI | n | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.sort_values(["benchmark", "goal", "seed", "samples"]).iterrows():
        ci_txt = "" if pd.isna(r["acc_lo"]) else f"[{r['acc_lo']:.1f}, {r['acc_hi']:.1f}]"
        lines.append(
            f"| {r['benchmark']} | {r['goal']} | {r['seed']} | {fmt_samples(r['samples'])} | "
            f"{r['accuracy']:.2f} | {ci_txt} | {r['n']} | {r['source']} |"
        )
    return "\n".join(lines) + "\n"
