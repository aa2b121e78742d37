"""Subset composition vs the pool: counts for the manifest, report.md and composition.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdo.columns import TEMPORAL_VIDEO
from gdo.utils.io import atomic_write_text, atomic_write_with

# Facets of the composition report: the bucket, the source and the temporal tag.
FACETS = ("bucket", "source", TEMPORAL_VIDEO)


def composition(pool: pd.DataFrame, subset_mask: np.ndarray) -> dict[str, pd.DataFrame]:
    """Per facet: pool count/share and subset count/share of each value."""
    out: dict[str, pd.DataFrame] = {}
    for facet in FACETS:
        values = pool[facet].astype(str)
        p = values.value_counts()
        s = values[subset_mask].value_counts().reindex(p.index, fill_value=0)
        df = pd.DataFrame({"pool": p, "subset": s})
        df["pool_share"] = df["pool"] / max(int(df["pool"].sum()), 1)
        df["subset_share"] = df["subset"] / max(int(df["subset"].sum()), 1)
        out[facet] = df.sort_index()
    return out


def composition_counts(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The composition tables as JSON-able dicts for the manifest."""
    return {
        facet: {str(k): {"pool": int(r.pool), "subset": int(r.subset)} for k, r in df.iterrows()}
        for facet, df in tables.items()
    }


def write_report(
    path: Path,
    goal_name: str,
    budget: dict[str, Any],
    constraints: list[dict[str, Any]],
    tables: dict[str, pd.DataFrame],
    counts: dict[str, Any],
) -> Path:
    """``report.md``: budget rationale, constraints (target vs achieved) and composition."""
    lines = [f"# Subset `{goal_name}`", ""]
    lines += [
        f"Selected **{counts.get('selected', 0)}** of {counts.get('eligible', 0)} "
        "eligible candidates "
        f"(budget {budget.get('budget')}, bound: **{budget.get('bound')}**).",
        "",
        "## Budget",
        "",
        "| term | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in budget.items()]
    lines += [
        "",
        "## Constraints",
        "",
        "| constraint | requested | target | achieved | status | reason |",
        "|---|---|---|---|---|---|",
    ]
    for c in constraints:
        lines.append(
            f"| {c['name']} | {c['requested']} | {c['target']} | {c['achieved']} | "
            f"{c['status']} | {c.get('reason', '')} |"
        )
    lines += ["", "## Filling steps", "", "| step | taken |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in counts.get("by_step", {}).items()]
    for facet, df in tables.items():
        lines += [
            "",
            f"## Composition by {facet}",
            "",
            "| value | pool | pool share | subset | subset share |",
            "|---|---|---|---|---|",
        ]
        for k, r in df.iterrows():
            lines.append(
                f"| {k} | {int(r.pool)} | {r.pool_share:.3f} | "
                f"{int(r.subset)} | {r.subset_share:.3f} |"
            )
    return atomic_write_text(path, "\n".join(lines) + "\n")


def plot_composition(path: Path, goal_name: str, tables: dict[str, pd.DataFrame]) -> Path:
    """``composition.png``: subset vs pool shares, one panel per facet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 4.2), squeeze=False)
    for ax, (facet, df) in zip(axes[0], tables.items()):
        x = np.arange(len(df))
        ax.bar(x - 0.2, df["pool_share"], width=0.4, label="pool")
        ax.bar(x + 0.2, df["subset_share"], width=0.4, label=f"subset ({goal_name})")
        ax.set_xticks(x)
        ax.set_xticklabels([str(i) for i in df.index], rotation=45, ha="right", fontsize=8)
        ax.set_xlabel(facet)
        ax.set_ylabel("share of candidates")
        ax.set_title(f"{facet}: subset vs pool")
        ax.legend(fontsize=8)
    fig.tight_layout()

    def save(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})

    try:
        return atomic_write_with(path, save)
    finally:
        plt.close(fig)
