"""Probe: several model folders on the same world suites, accuracy per question type.

    PROBE_TARGET=both python experiments/calibration/probe_bases.py WORLD MODEL_DIR [...]

Scores Video-MME and LVBench of WORLD with ``probe_lib.accuracy`` (the demo's likelihood
scoring) for each model, e.g. a ``gdo pretrain`` base against a probe-loop base.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402


def main() -> None:
    """Print one line per model and suite (arguments: see the module docstring)."""
    from gdo.models import load_model

    cfg = L.compose(["model=tiny_qwen2vl"])
    world = Path(sys.argv[1])
    for folder in sys.argv[2:]:
        vlm = load_model(cfg.model, Path(folder))
        for kind in ("videomme", "lvbench"):
            b = L.bench_samples(L.bench_rows(world, kind), kind)
            L.attach_frames(vlm, b, f"bench-{kind}")
            print(folder, kind, L.accuracy(vlm, b, "qtype"), flush=True)


if __name__ == "__main__":
    main()
