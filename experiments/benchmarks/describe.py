"""Benchmark: batched descriptor extraction vs one sample at a time (the reference's way).

Both arms run the same code path as ``gdo describe`` (``describe_batch`` over the same
candidates, sorted the same way) with the same tiny base model; only
``descriptors.batch_size`` differs. Shard I/O is left out: it is the same for both.

    python experiments/benchmarks/describe.py --root outputs --n 2000 \
        --batch-sizes 16 1 --out experiments/benchmarks/describe.md

``--root`` is a ``paths.root_dir`` holding a world, ``gdo pool`` and ``gdo pretrain``
outputs (experiment name ``default``); ``--model`` overrides the base model folder.
"""

from __future__ import annotations

import sys

# This folder holds a `select.py`, which would shadow the standard library's `select`
# (imported by pyarrow via socket) when this script runs from here: drop the folder.
sys.path[:] = [p for p in sys.path if not p.endswith("experiments/benchmarks")]

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def compose(overrides: list[str]):
    """The real Hydra config, as ``gdo`` composes it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import gdo.config  # noqa: F401

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(REPO / "conf")):
        return hydra_compose(config_name="config", overrides=overrides)


def markdown(df: pd.DataFrame) -> str:
    """A Markdown table (no tabulate dependency)."""
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def timed(items) -> dict[str, float]:
    """Wrap each descriptor's ``describe`` to accumulate its wall time."""
    spent: dict[str, float] = defaultdict(float)
    for it in items:
        inner = it.descriptor.describe

        def wrapper(ctx, inner=inner, name=it.name):
            t = time.perf_counter()
            try:
                return inner(ctx)
            finally:
                spent[name] += time.perf_counter() - t

        it.descriptor.describe = wrapper
    return spent


def bench(cfg, rows: list[dict], model, batch_size: int) -> tuple[pd.DataFrame, float, dict]:
    """Describe ``rows`` in batches of ``batch_size``; returns (rows, wall s, per-descriptor).

    ``spent["cpu"]`` is the process CPU time: on a shared machine wall time also counts
    the other jobs, CPU time does not.
    """
    from gdo.descriptors.registry import build
    from gdo.descriptors.stage import describe_batch

    items = build(cfg.descriptors["items"])
    spent = timed(items)
    out = []
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        out += describe_batch(chunk, items, model, int(cfg.seed), int(cfg.descriptors.max_frames))
    spent["cpu"] = time.process_time() - c0
    return pd.DataFrame(out), time.perf_counter() - t0, dict(spent)


def separations(cfg) -> str:
    """``gdo describe`` + merge on the whole pool, then each descriptor vs truth.parquet."""
    from gdo.descriptors.stage import merge, run
    from gdo.utils.stage import work_dir, world_dir

    run(cfg)
    d = pd.read_parquet(merge(cfg))
    truth = pd.read_parquet(world_dir(cfg) / "truth.parquet")
    pool = pd.read_parquet(work_dir(cfg) / "pool" / "pool.parquet")[["uid", "media_kind"]]
    m = d.merge(truth, on="uid").merge(pool, on="uid")
    m = m[m.status == "ok"]
    video = m.media_kind == "video"
    none = m.waste == "none"
    rows = [
        ("median vds", "leaked", m.vds[m.waste == "leaked"], "none", m.vds[none], "lower"),
        ("median amm", "static video", m.amm[video & (m.scenario == "static")],
         "moving video", m.amm[video & (m.scenario == "motion")], "lower"),
        ("median ppl", "wrong", m.ppl[m.waste == "wrong"], "none", m.ppl[none], "higher"),
        ("median vds", "wrong", m.vds[m.waste == "wrong"], "none", m.vds[none], "lower"),
        ("median sc", "colour (learned)", m.sc[none & (m.qtype == "colour")],
         "motion_direction (chance)", m.sc[none & (m.qtype == "motion_direction")], "higher"),
        ("mean tnc", "temporal", m.tnc[m.temporal], "static", m.tnc[~m.temporal], "higher"),
    ]  # fmt: skip
    out = []
    for stat, a, xa, b, xb, want in rows:
        f = np.nanmean if stat.startswith("mean") else np.nanmedian
        va, vb = float(f(xa)), float(f(xb))
        holds = va < vb if want == "lower" else va > vb
        out.append({"statistic": stat, "group": f"{a} (n={len(xa)})", "value": va,
                    "vs": f"{b} (n={len(xb)})", "vs_value": vb, "expected": want,
                    "holds": holds})  # fmt: skip
    sc_by_type = m[none].groupby("qtype").sc.median().round(3).to_dict()
    table = markdown(pd.DataFrame(out))
    return f"{table}\n\nSC median by question type (waste none): {sc_by_type}\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="outputs", help="paths.root_dir with world, pool, base model")
    ap.add_argument("--name", default="default", help="experiment name (work dir)")
    ap.add_argument("--world", default="default", help="world preset")
    ap.add_argument("--model", default=None, help="model folder (default <work_dir>/base_model)")
    ap.add_argument("--n", type=int, default=2000, help="candidates (a seeded sample of the pool)")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 1])
    ap.add_argument("--out", default=None, help="write the result table (Markdown) here")
    ap.add_argument(
        "--separations", action="store_true",
        help="instead: describe the whole pool and check each descriptor against truth.parquet",
    )  # fmt: skip
    args = ap.parse_args()

    os.environ.setdefault("GDO_PROGRESS", "0")
    import torch

    torch.set_num_threads(1)
    from gdo.descriptors.stage import POOL_FIELDS, load_describe_model, plain_row, sort_for_padding
    from gdo.utils.stage import work_dir

    overrides = [f"paths.root_dir={args.root}", f"name={args.name}", f"world={args.world}"]
    if args.model:
        overrides.append(f"descriptors.model_path={args.model}")
    cfg = compose(overrides)
    if args.separations:
        text = separations(cfg)
        print(text)
        if args.out:
            cmd = " ".join(["python", "experiments/benchmarks/describe.py", *sys.argv[1:]])
            Path(args.out).write_text(
                f"# Descriptor separations on the world\n\nCommand: `{cmd}`\n\n{text}"
            )
        return 0
    pool = pd.read_parquet(work_dir(cfg) / "pool" / "pool.parquet")
    sample = pool.sample(min(args.n, len(pool)), random_state=0)
    sample = sort_for_padding(sample)
    rows = [
        plain_row(r) for r in sample[[c for c in POOL_FIELDS if c in sample]].to_dict("records")
    ]
    model = load_describe_model(cfg)
    # Warm-up outside the clock (first-call allocations, lazy imports).
    bench(cfg, rows[:4], model, 4)

    results, tables = [], {}
    for bs in args.batch_sizes:
        table, secs, spent = bench(cfg, rows, model, bs)
        tables[bs] = table
        cpu = spent.pop("cpu")
        results.append(
            {
                "batch_size": bs,
                "wall_s": secs,
                "samples_per_s": len(rows) / secs,
                "cpu_s": cpu,
                "samples_per_cpu_s": len(rows) / cpu,
                **{f"s_{k}": v for k, v in spent.items()},
            }
        )
        print(
            f"batch {bs}: {len(rows)} candidates in {secs:.1f}s = {len(rows) / secs:.2f} samples/s"
        )
    res = pd.DataFrame(results)
    for col, name in (("samples_per_s", "speedup_wall"), ("samples_per_cpu_s", "speedup_cpu")):
        base = res.loc[res.batch_size == 1, col]
        res[name] = res[col] / (base.iloc[0] if len(base) else np.nan)

    # The arms must agree (same uids, same values up to padding noise; SC seeded per uid).
    agree = []
    ref = tables[args.batch_sizes[-1]].set_index("uid")
    for bs, t in tables.items():
        t = t.set_index("uid").loc[ref.index]
        for col in ("amm", "vds", "ppl", "tnc", "sc"):
            a, b = t[col].to_numpy(float), ref[col].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            agree.append(
                {
                    "batch_size": bs,
                    "column": col,
                    "max_abs_diff": float(np.max(np.abs(a[ok] - b[ok]))) if ok.any() else 0.0,
                    "equal_share": float(np.mean(np.isclose(a[ok], b[ok], atol=1e-4))),
                }
            )
    agree = pd.DataFrame(agree)
    print(res.round(3).to_string(index=False))
    print(agree.to_string(index=False))
    if args.out:
        cmd = " ".join(["python", "experiments/benchmarks/describe.py", *sys.argv[1:]])
        text = [
            "# Describe throughput: batched vs one sample at a time",
            "",
            f"Command: `{cmd}`",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs), "
            f"torch threads 1. Candidates: {len(rows)} (seeded sample of the pool), "
            f"failed rows: {int((tables[args.batch_sizes[0]].status != 'ok').sum())}.",
            "",
            "## Throughput (s_<descriptor>: wall seconds summed over batches)",
            "",
            markdown(res),
            "",
            "## Agreement between the arms (same candidates)",
            "",
            markdown(agree),
            "",
        ]
        Path(args.out).write_text("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
