"""Controls: experiments that would show the effect's absence if the claimed cause were not
at work, summarised into the main run's report.

A control is an experiment of its own (one command each, e.g. ``gdo run
experiment=demo_control_shuffled``) whose ``run.control`` names what it tests:

| kind | the control run | the finding expected if GDO works for the stated reason |
|---|---|---|
| ``no_waste`` | the same world without waste, temporal share raised to the goal's | the reduction shrinks (selection has nothing to find) |
| ``shuffled`` | descriptor values permuted across candidates before scoring | the goal loses its advantage over the baseline |
| ``time_reversed`` | the trained models on time-reversed benchmark clips | temporal accuracy drops toward or below chance |

Each check compares the control's frontier with the main run's on the same benchmarks
(and pooled rows) and says whether the expected direction holds; nothing is hidden when it
does not.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from gdo.utils.io import atomic_write_json, atomic_write_text

KINDS = ("no_waste", "shuffled", "time_reversed")
SECTION = "## Controls"
_EXPECTED = {
    "no_waste": "reduction shrinks (selection has nothing to find)",
    "shuffled": "the goal loses its advantage over the baseline",
    "time_reversed": "temporal accuracy drops toward or below chance",
}


def _reduction(row: pd.Series | None) -> float:
    """The reduction as a number: 0 when the peak is not reached (no reduction)."""
    if row is None or not bool(row["peak_reached"]):
        return 0.0
    r = row["reduction"]
    return float("inf") if r is None or (isinstance(r, float) and math.isnan(r)) else float(r)


def _red_text(row: pd.Series | None) -> str:
    if row is None:
        return "-"
    if not bool(row["peak_reached"]):
        return "not reached"
    r = _reduction(row)
    return "at the base model" if math.isinf(r) else f"{r:.1f}x"


def _delta_text(row: pd.Series | None) -> str:
    if row is None:
        return "-"
    ci = "" if pd.isna(row["delta_lo"]) else f" [{row['delta_lo']:+.1f}, {row['delta_hi']:+.1f}]"
    return f"{row['delta']:+.1f}{ci}"


def _row(main: pd.DataFrame, bench: str, goal: str) -> pd.Series | None:
    hit = main[(main["benchmark"] == bench) & (main["goal"] == goal)]
    return None if hit.empty else hit.iloc[0]


def compare_selection(
    kind: str, main: pd.DataFrame, control: pd.DataFrame, goal: str
) -> list[dict[str, Any]]:
    """``no_waste`` / ``shuffled``: the goal's reduction and delta, main vs control, per
    benchmark both runs have. Holds when the control's reduction is smaller (or not
    reached); for ``shuffled`` also when its delta to the baseline is lower."""
    out = []
    for bench in sorted(set(main["benchmark"]) & set(control["benchmark"])):
        m, c = _row(main, bench, goal), _row(control, bench, goal)
        if m is None or c is None:
            continue
        holds = _reduction(c) < _reduction(m) or (
            _reduction(c) == _reduction(m) == 0 and kind == "no_waste"
        )
        if kind == "shuffled":
            holds = holds and float(c["delta"]) < float(m["delta"])
        out.append(
            {
                "benchmark": bench,
                "main": f"{_red_text(m)}, {_delta_text(m)} pp",
                "control": f"{_red_text(c)}, {_delta_text(c)} pp",
                "main_reduction": _reduction(m),
                "control_reduction": _reduction(c),
                "main_delta": float(m["delta"]),
                "control_delta": float(c["delta"]),
                "holds": bool(holds),
            }
        )
    return out


def _finals(table: pd.DataFrame, bench: str) -> pd.Series:
    """Mean final accuracy per goal (base model as ``base``) on one benchmark."""
    rows = table[table["benchmark"] == bench]
    finals = rows[rows["is_final"]].groupby("goal")["accuracy"].mean()
    base = rows[rows["is_base"]]["accuracy"]
    if len(base):
        finals.loc["base"] = float(base.mean())
    return finals


def compare_reversed(
    main_table: pd.DataFrame, control_table: pd.DataFrame, bench: str = "temporal"
) -> list[dict[str, Any]]:
    """``time_reversed``: each model's final accuracy on ``bench`` as given vs reversed.
    Holds for a trained goal when the reversed accuracy is lower."""
    given, rev = _finals(main_table, bench), _finals(control_table, bench)
    out = []
    for goal in sorted(set(given.index) & set(rev.index), key=lambda g: (g != "base", g)):
        out.append(
            {
                "benchmark": bench,
                "goal": goal,
                "main": f"{given[goal]:.1f}",
                "control": f"{rev[goal]:.1f}",
                "main_accuracy": float(given[goal]),
                "control_accuracy": float(rev[goal]),
                # The base model has no temporal skill to lose: informative, not a check.
                "holds": None if goal == "base" else bool(rev[goal] < given[goal]),
            }
        )
    return out


def summarise(kind: str, name: str, main_dir: Path, control_dir: Path, goal: str) -> dict[str, Any]:
    """One control's findings from the two frontier folders (``main.parquet``,
    ``frontier.parquet``)."""
    if kind not in KINDS:
        raise ValueError(f"run.control: expected one of {KINDS}, got {kind!r}")
    if kind == "time_reversed":
        rows = compare_reversed(
            pd.read_parquet(main_dir / "frontier.parquet"),
            pd.read_parquet(control_dir / "frontier.parquet"),
        )
    else:
        rows = compare_selection(
            kind,
            pd.read_parquet(main_dir / "main.parquet"),
            pd.read_parquet(control_dir / "main.parquet"),
            goal,
        )
    checks = [r["holds"] for r in rows if r["holds"] is not None]
    return {
        "name": name,
        "kind": kind,
        "goal": goal,
        "expected": _EXPECTED[kind],
        "folder": str(control_dir),
        "rows": rows,
        "holds": sum(checks),
        "checks": len(checks),
    }


def render(controls: list[dict[str, Any]], baseline: str) -> str:
    """The report's "Controls" section."""
    lines = [
        SECTION,
        "",
        "Each control is a run of its own (its report is in its folder); it changes one thing "
        "that the claimed cause depends on. 'holds' says whether the expected direction was "
        "measured; where it was not, the row says so.",
    ]
    for c in controls:
        lines += ["", f"### {c['name']} ({c['kind']}): {c['expected']}", ""]
        if c["kind"] == "time_reversed":
            lines += [
                "| model | temporal questions, clips as given (%) | time-reversed (%) | holds |",
                "|---|---|---|---|",
            ]
            for r in c["rows"]:
                mark = "" if r["holds"] is None else ("yes" if r["holds"] else "**no**")
                lines.append(f"| {r['goal']} | {r['main']} | {r['control']} | {mark} |")
        else:
            lines += [
                f"| benchmark | {c['goal']} vs {baseline}: reduction, delta (main run) "
                "| the same in the control | holds |",
                "|---|---|---|---|",
            ]
            for r in c["rows"]:
                mark = "yes" if r["holds"] else "**no**"
                lines.append(f"| {r['benchmark']} | {r['main']} | {r['control']} | {mark} |")
        lines += ["", f"Holds on {c['holds']} of {c['checks']} checks. Folder: `{c['folder']}`."]
    return "\n".join(lines) + "\n"


def attach(report: Path, controls: list[dict[str, Any]], baseline: str) -> Path:
    """Write ``controls.json`` next to ``report`` and (re)place its Controls section."""
    atomic_write_json(report.parent / "controls.json", controls)
    text = report.read_text(encoding="utf-8")
    if SECTION in text:
        text = text[: text.index(SECTION)]
    return atomic_write_text(report, text.rstrip() + "\n\n" + render(controls, baseline))
