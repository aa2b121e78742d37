"""Training throughput of the demo's model on CPU: ``gdo train``, samples per second.

    python experiments/benchmarks/train.py --world demo --n 1024 --epochs 3 \
        --setups 1proc ddp2 --json /tmp/train_after.json

Prepares what it needs under ``--root`` (default: a temporary folder): the world
(``gdo world world=<--world>``) and its pool (``gdo pool``) when absent, a random-init tiny
Qwen2-VL with the demo's settings (``model=tiny_qwen2vl``: 4 frames of 32x32, patch 4) and
a random ``--n``-row subset of the pool (seed 0). Each setup is one ``gdo train`` process
(``training=cpu``: fp32, batch ``--batch`` per optimizer step, lr 1e-3, 1 thread per rank)
on that subset for ``--epochs`` passes. Read from the run: the Trainer's ``train_runtime``
(the training loop: model loading, process start and pre-encoding excluded), the
pre-encoding time when the code has it, and the loop's CPU seconds over all ranks
(``cpu_time_s``; else the process's). samples/s (loop) = samples / runtime; samples/s (end
to end) also counts the pre-encoding. ``--code DIR`` runs another checkout's ``gdo`` (same
inputs) to compare code versions; ``--set`` adds overrides. ``--json`` keeps the results and
the loss curve.
"""

from __future__ import annotations

import os
import sys

# The sibling benchmark scripts (e.g. select.py) would shadow stdlib modules of that name.
sys.path[:] = [p for p in sys.path if not p.endswith("experiments/benchmarks")]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import write_record  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# name -> (ranks, training/deepspeed)
SETUPS = {"1proc": (1, "none"), "ddp2": (2, "none"), "zero3": (2, "zero3")}


def gdo(code: Path, args: list[str], env: dict[str, str], ranks: int = 1) -> float:
    """Run ``gdo <args>`` from checkout ``code`` (its package, its configs); returns the CPU
    seconds it and its children used."""
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node", str(ranks)] if ranks > 1 else []
    cmd = [sys.executable, *launcher, "-m", "gdo", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=code, env={**env, "PYTHONPATH": str(code)},
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def prepare(root: Path, world: str, n: int, env: dict[str, str]) -> tuple[Path, Path]:
    """World + pool (made once under ``root``), a tiny base model and an ``n``-row subset."""
    import pandas as pd
    from omegaconf import OmegaConf

    from gdo.models import build_tiny
    from gdo.models.config import ModelConf
    from gdo.world import vocabulary

    common = [f"paths.root_dir={root}", f"world={world}", f"name=pool_{world}", "logger=none"]
    pool = root / "outputs" / f"pool_{world}" / "pool" / "pool.parquet"
    if not pool.exists():
        gdo(REPO, ["world", *common], env)
        gdo(REPO, ["pool", *common], env)
    # The schema defaults are the tiny_qwen2vl preset (4 frames, 32x32, patch 4).
    base = build_tiny(OmegaConf.structured(ModelConf()), root / f"base_{world}", vocabulary())
    df = pd.read_parquet(pool)
    subset = root / f"subset_{world}_{n}.parquet"
    df.sample(n=min(n, len(df)), random_state=0).to_parquet(subset, index=False)
    return base, subset


def train(args: argparse.Namespace, root: Path, base: Path, subset: Path, setup: str) -> dict:
    """One ``gdo train`` run of ``setup``; its samples, runtime and CPU seconds."""
    ranks, ds = SETUPS[setup]
    name = f"bench_{setup}_{int(time.time())}"
    overrides = [
        f"paths.root_dir={root}", f"name={name}", "logger=none", f"training.subset={subset}",
        f"training.init_from={base}", f"training/deepspeed={ds}", f"training.epochs={args.epochs}",
        f"training.per_device_batch_size={args.batch // ranks}",
        "training.checkpoint.every_fraction=null", "training.logging_steps=1", *args.set,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "GDO_PROGRESS": "0"}
    t0 = time.time()
    process_cpu = gdo(args.code, ["train", *overrides], env, ranks)
    wall = time.time() - t0
    out = root / "outputs" / name / "train" / "temp_plus"
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # The Trainer's closing log row (it has train_loss); earlier rows carry a running time.
    runtime = [r for r in rows if "train_loss" in r][-1]["train_runtime"]
    pre = float(counts.get("pre_encode_s", 0.0))
    return {
        "setup": setup,
        "samples": counts["samples"],
        "tokens": counts["tokens"],
        "runtime_s": runtime,
        "pre_encode_s": pre,
        "loop_cpu_s": counts.get("cpu_time_s"),
        "process_cpu_s": round(process_cpu, 1),
        "samples_per_s": round(counts["samples"] / runtime, 1),
        "samples_per_s_end_to_end": round(counts["samples"] / (runtime + pre), 1),
        "process_wall_s": round(wall, 1),
        "losses": [r["loss"] for r in rows if "loss" in r],
        "load_avg": [round(x, 1) for x in os.getloadavg()],
    }


def main() -> int:
    """Run every setup; print one line each and keep them in ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="small", help="world preset (conf/world)")
    parser.add_argument("--root", type=Path, default=None, help="paths.root_dir (default: temp)")
    parser.add_argument("--n", type=int, default=1024, help="subset rows")
    parser.add_argument("--epochs", type=float, default=3.0, help="passes over the subset")
    parser.add_argument("--batch", type=int, default=32, help="samples per optimizer step")
    parser.add_argument("--setups", nargs="+", default=["1proc"], choices=sorted(SETUPS))
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose gdo runs")
    parser.add_argument("--set", nargs="*", default=[], help="extra config overrides")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--out", type=Path, default=None, help="also write a Markdown record")
    args = parser.parse_args()
    args.code = args.code.resolve()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "GDO_PROGRESS": "0"}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.root or Path(tmp)).resolve()
        base, subset = prepare(root, args.world, args.n, env)
        for setup in args.setups:
            r = train(args, root, base, subset, setup)
            results.append(r)
            print(
                f"{setup}: {r['samples']} samples, loop {r['runtime_s']:.1f} s "
                f"({r['samples_per_s']} samples/s), pre-encode {r['pre_encode_s']:.1f} s "
                f"(end to end {r['samples_per_s_end_to_end']} samples/s), loop CPU "
                f"{r['loop_cpu_s']} s, process CPU {r['process_cpu_s']} s, "
                f"final loss {r['losses'][-1]:.4f}, load {r['load_avg']}",
                flush=True,
            )
    if args.out:
        write_record(args.out, "Training throughput (experiments/benchmarks/train.py)", results)
    if args.json:
        meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "code": str(args.code)}
        args.json.write_text(json.dumps({**meta, "args": vars(args) | {"code": str(args.code),
                             "root": str(args.root), "json": str(args.json)}, "results": results}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
