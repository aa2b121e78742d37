"""Probe: one model on a world suite (default MVBench) with its clips as given, time-reversed and frozen (first frame).

    python experiments/calibration/probe_controls.py WORLD MODEL_DIR [SUITE=mvbench]

A type that the model answers from time drops on the reversed clip (order, change) or on
the frozen clip (motion); a type that stays put is answered from a single frame or a prior.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402


def main() -> None:
    """Print the three accuracies (arguments: see the module docstring)."""
    from gdo.models import load_model

    world, model = Path(sys.argv[1]), Path(sys.argv[2])
    kind = sys.argv[3] if len(sys.argv) > 3 else "mvbench"
    by = "subtask" if kind == "mvbench" else "qtype"
    cfg = L.compose(["model=tiny_qwen2vl"])
    vlm = load_model(cfg.model, model)
    mv = L.bench_samples(L.bench_rows(world, kind), kind)
    L.attach_frames(vlm, mv, f"bench-{kind}")
    print("as given", L.accuracy(vlm, mv, by), flush=True)
    rev = [dict(s, frames=s["frames"][::-1].copy()) for s in mv]
    print("reversed", L.accuracy(vlm, rev, by), flush=True)
    still = [dict(s, frames=np.repeat(s["frames"][:1], len(s["frames"]), 0)) for s in mv]
    print("frozen", L.accuracy(vlm, still, by), flush=True)


if __name__ == "__main__":
    main()
