"""Training throughput of the tiny Qwen2-VL on CPU: 1 process vs ZeRO-3 on 2 ranks (gloo).

    python experiments/benchmarks/train.py --pool outputs/demo/pool/pool.parquet --n 512

Trains the same random-init tiny model (``gdo.models.build_tiny`` over the world's
vocabulary) on the same ``--n`` pool candidates with ``gdo train``, once per setup, and
reads samples/s and tokens/s from the Trainer's own ``train_runtime`` (model loading and
process start excluded; the final checkpoint save included). Writes
``experiments/benchmarks/train.md``. Numbers depend on how busy the machine is: the
table records the load average next to them.
"""

from __future__ import annotations

import os
import sys

# The sibling benchmark scripts (e.g. select.py) would shadow stdlib modules of that name.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SETUPS = {
    "1 process, no DeepSpeed": (1, "none"),
    "2 ranks, DDP (gloo)": (2, "none"),
    "2 ranks, ZeRO-3 (gloo)": (2, "zero3"),
}


def build_inputs(pool: Path, n: int, tmp: Path) -> tuple[Path, Path]:
    """A tiny base model and an ``n``-row sample of a ``gdo pool`` table."""
    import pandas as pd
    from omegaconf import OmegaConf

    from gdo.models import build_tiny
    from gdo.models.config import ModelConf
    from gdo.world import vocabulary

    # The schema defaults are the tiny_qwen2vl preset (4 frames, 32x32).
    base = build_tiny(OmegaConf.structured(ModelConf()), tmp / "base", vocabulary())
    df = pd.read_parquet(pool)
    df = df.sample(n=min(n, len(df)), random_state=0)
    subset = tmp / "subset.parquet"
    df.to_parquet(subset, index=False)
    return base, subset


def train(tmp: Path, base: Path, subset: Path, ranks: int, ds: str, batch: int) -> dict:
    """One ``gdo train`` run; its samples, tokens and Trainer runtime."""
    name = f"bench_{ranks}_{ds}"
    overrides = [
        f"paths.root_dir={tmp}", f"name={name}", "logger=none", f"training.subset={subset}",
        f"training.init_from={base}", f"training/deepspeed={ds}",
        f"training.per_device_batch_size={batch // ranks}", "training.checkpoint.every_fraction=null",
        "training.logging_steps=1000",
    ]  # fmt: skip
    if ranks == 1:
        cmd = [sys.executable, "-m", "gdo", "train", *overrides]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(ranks),
               "-m", "gdo", "train", *overrides]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "GDO_PROGRESS": "0"}
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    wall = time.time() - t0
    out = tmp / "outputs" / name / "train" / "temp_plus"
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # The Trainer's closing log row (it has train_loss); earlier rows carry a running time.
    runtime = [r for r in rows if "train_loss" in r][-1]["train_runtime"]
    return {
        "samples": counts["samples"],
        "tokens": counts["tokens"],
        "runtime_s": runtime,
        "samples_per_s": counts["samples"] / runtime,
        "tokens_per_s": counts["tokens"] / runtime,
        "process_wall_s": wall,
    }


def main() -> int:
    """Run every setup and write the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pool", type=Path, default=ROOT / "outputs/demo/pool/pool.parquet", help="gdo pool output"
    )
    parser.add_argument("--n", type=int, default=512, help="training samples per run")
    parser.add_argument("--batch", type=int, default=32, help="samples per optimizer step")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/benchmarks/train.md")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base, subset = build_inputs(args.pool.resolve(), args.n, tmp)
        for label, (ranks, ds) in SETUPS.items():
            results[label] = train(tmp, base, subset, ranks, ds, args.batch)
            print(label, results[label], flush=True)
    write_report(args, results)
    return 0


def write_report(args: argparse.Namespace, results: dict) -> None:
    """``train.md``: the command, the machine and one row per setup."""
    load = os.getloadavg()
    lines = [
        "# Training throughput: tiny Qwen2-VL on CPU",
        "",
        "```bash",
        f"python experiments/benchmarks/train.py --pool {args.pool} --n {args.n} "
        f"--batch {args.batch}",
        "```",
        "",
        f"{args.n} world pool candidates (random sample, seed 0; images + short/long videos, `model.frames=4`, 32x32), "
        f"{args.batch} samples per optimizer step in every setup, fp32, 1 thread per rank, "
        f"one epoch. Machine: {platform.machine()}, {os.cpu_count()} cores shared with other "
        f"jobs (load average after the runs {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}); "
        "runtime = the Trainer's `train_runtime` (no process start or model load).",
        "",
        "| setup | samples | tokens | runtime s | samples/s | tokens/s | process wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['samples']} | {r['tokens']} | {r['runtime_s']:.1f} | "
            f"{r['samples_per_s']:.1f} | {r['tokens_per_s']:.0f} | {r['process_wall_s']:.0f} |"
        )
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
