"""Probe: greedy-generation accuracy of a model on clean open-ended pool questions, per type.

    python experiments/calibration/probe_generate.py WORLD POOL_PARQUET MODEL_DIR [n=300]

An in-distribution check (the pool's own prompts, exact-match answers) that separates
"the skill was not learned" from "the benchmark prompt is off-distribution".
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402


def main() -> None:
    """Print exact-match accuracy per question type (arguments: see the docstring)."""
    from gdo.models import load_model

    world, pool_path, model = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    cfg = L.compose(["model=tiny_qwen2vl"])
    vlm = load_model(cfg.model, model)
    pool = L.pool_rows(world, pool_path)
    oe = pool[~pool.is_mcq & (pool.waste == "none")].sample(n, random_state=1)
    samples = L.to_samples(oe)
    L.attach_frames(vlm, samples, "pool-" + world.name)
    out = vlm.generate(samples, n=1, max_new_tokens=4)
    hits: dict[str, list[bool]] = {}
    for s, o in zip(samples, out, strict=True):
        ok = o[0].strip() == s["answer"].strip()
        hits.setdefault(s["qtype"], []).append(ok)
        hits.setdefault("all", []).append(ok)
    print({k: (round(sum(v) / len(v), 3), len(v)) for k, v in sorted(hits.items())})


if __name__ == "__main__":
    main()
