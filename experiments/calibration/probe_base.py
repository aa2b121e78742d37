"""Probe 1: pre-train the tiny base model on the perception split; accuracy vs samples.

    python experiments/calibration/probe_base.py WORLD_DIR OUT_DIR [max_samples] [overrides...]

Evaluates MVBench (per subtask) along the way and all four world suites (per question
type) at the end; saves the base model to OUT_DIR/base (``save_pretrained``) and the log
to OUT_DIR/base_log.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import probe_lib as L  # noqa: E402


def main() -> None:
    """Run the probe (arguments: see the module docstring)."""
    world, out = Path(sys.argv[1]), Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 16000
    cfg = L.compose(["model=tiny_qwen2vl", *sys.argv[4:]])
    vlm = L.fresh_model(cfg, out / "init")
    t0 = time.time()
    pre = L.to_samples(L.perception_rows(world))
    L.attach_frames(vlm, pre, "perception")
    mv = L.bench_samples(L.bench_rows(world, "mvbench"))
    L.attach_frames(vlm, mv, "bench-mvbench")
    print(f"{len(pre)} perception rows, {len(mv)} mvbench q, load {time.time() - t0:.0f}s")
    marks = [n // 8, n // 4, n // 2, n]
    log = L.train(vlm, pre, n, eval_at=marks, eval_fn=lambda _s: L.accuracy(vlm, mv))
    vlm.save_pretrained(out / "base")
    final = {}
    for kind in ("videomme", "mlvu", "lvbench"):
        b = L.bench_samples(L.bench_rows(world, kind), kind)
        L.attach_frames(vlm, b, f"bench-{kind}")
        final[kind] = L.accuracy(vlm, b, by="qtype")
    final["mvbench"] = L.accuracy(vlm, mv, by="qtype")
    print(json.dumps(final, indent=1))
    (out / "base_log.json").write_text(json.dumps({"curve": log, "final": final}, indent=1))


if __name__ == "__main__":
    main()
