"""Probe: MVBench accuracy of one model under each likelihood target (text | letter | both).

    python experiments/calibration/probe_target.py WORLD MODEL_DIR [POOL_PARQUET]

With POOL_PARQUET also scores 300 clean multiple-choice pool questions (in-distribution
prompts) per question type, as a check that the model learned the skill at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402


def main() -> None:
    """Print accuracies (arguments: see the module docstring)."""
    from gdo.models import load_model

    world, model = Path(sys.argv[1]), Path(sys.argv[2])
    cfg = L.compose(["model=tiny_qwen2vl"])
    vlm = load_model(cfg.model, model)
    mv = L.bench_samples(L.bench_rows(world, "mvbench"))
    L.attach_frames(vlm, mv, "bench-mvbench")
    for target in ("text", "letter", "both"):
        scores = vlm.score_options(mv, target=target)
        hits: dict[str, list[bool]] = {}
        for s, sc in zip(mv, scores, strict=True):
            ok = "ABCDEFGH"[int(sc.argmax())] == s["answer_letter"]
            hits.setdefault(s["subtask"], []).append(ok)
            hits.setdefault("all", []).append(ok)
        print(target, {k: round(sum(v) / len(v), 3) for k, v in sorted(hits.items())}, flush=True)
    if len(sys.argv) > 3:
        pool = L.pool_rows(world, Path(sys.argv[3]))
        mc = pool[pool.is_mcq & (pool.waste == "none")].sample(300, random_state=0)
        samples = L.to_samples(mc)
        L.attach_frames(vlm, samples, "pool-" + world.name)
        for s in samples:
            s["qtype"] = mc.set_index("uid").loc[s["uid"], "qtype"]
        for target in ("text", "both"):
            print("pool-mc", target, L.accuracy(vlm, samples, by="qtype"), flush=True)


if __name__ == "__main__":
    main()
