"""Probe: trained models on a world's four suites, in each suite's prompt layout or in one.

    PROBE_TARGET=both python experiments/calibration/probe_layouts.py WORLD MODEL [MODEL ...] \
        [--layout videomme]

Prints, per model folder (a base model or a checkpoint), the likelihood accuracy (%) on each
suite, on the pooled, the temporal and on the static questions. ``--layout KIND`` asks every suite's
questions in the prompt layout of one benchmark kind (``videomme`` is LLaVA's ``A. red``
layout with an intro line) instead of each suite's own: a model whose accuracy moves between
the two drifted on a layout, not on a skill. Scoring as ``gdo evaluate`` with ``eval=world``
(likelihood of the whole option, ``PROBE_TARGET=both``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402

SUITES = ("mvbench", "videomme", "mlvu", "lvbench")
TEMPORAL = ("appearance_order", "state_change")


def main() -> None:
    """Run the probe (arguments: see the module docstring)."""
    from gdo.models import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("world", type=Path)
    ap.add_argument("models", type=Path, nargs="+")
    ap.add_argument("--layout", default=None, help="one benchmark kind's prompt for every suite")
    a = ap.parse_args()
    cfg = L.compose(["model=tiny_qwen2vl"])
    suites: dict[str, list] = {}
    for folder in a.models:
        vlm = load_model(cfg.model, folder)
        if not suites:
            for kind in SUITES:
                b = L.bench_samples(L.bench_rows(a.world, kind), a.layout or kind)
                L.attach_frames(vlm, b, f"bench-{kind}")
                suites[kind] = b
        out: dict[str, float] = {}
        temporal: list[bool] = []
        static: list[bool] = []
        for kind, b in suites.items():
            hit = L.hits(vlm, b)
            out[kind] = round(100 * float(hit.mean()), 1)
            for s, h in zip(b, hit, strict=True):
                (temporal if s["qtype"] in TEMPORAL else static).append(bool(h))
        out["all"] = round(100 * float(np.mean(temporal + static)), 1)
        out["temporal"] = round(100 * float(np.mean(temporal)), 1)
        out["static"] = round(100 * float(np.mean(static)), 1)
        print(folder, json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
