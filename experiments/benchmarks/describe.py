"""Benchmark: batched descriptor extraction vs one sample at a time (the reference's way).

Both arms run the same code path as ``gdo describe`` (the runner's loop
``describe_batches`` over the same candidates, sorted the same way) with the same tiny
base model and the same runner settings (``--prefetch``: media work of the next batches
in a background thread); only ``descriptors.batch_size`` differs. Shard I/O is left
out: it is the same for both.

    python experiments/benchmarks/describe.py --root outputs --n 2000 \
        --batch-sizes 32 1 --prefetch 0 1 --out /tmp/describe.md

``--slices 4`` runs every arm on each quarter of the candidates in turn (the order
alternating), so a shared machine whose speed drifts over minutes slows all arms alike;
each slice refills the prefetch pipeline once, which only counts against the batched arm.
``--root`` is a ``paths.root_dir`` holding a world, ``gdo pool`` and ``gdo pretrain``
outputs (experiment name ``default``); ``--model`` overrides the base model folder.
"""

from __future__ import annotations

import sys

# This folder holds a `select.py`, which would shadow the standard library's `select`
# (imported by pyarrow via socket) when this script runs from here: drop the folder.
sys.path[:] = [p for p in sys.path if not p.endswith("experiments/benchmarks")]

import argparse  # noqa: E402
import math  # noqa: E402
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


def commit() -> str:
    """The checked-out commit, and whether the working tree differs from it."""
    import subprocess

    def git(*args: str) -> str:
        # GIT_OPTIONAL_LOCKS=0: `git status` must not refresh (write) the index.
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False, env=env
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head} with uncommitted changes" if dirty else head


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


def bench(
    cfg, rows: list[dict], model, batch_size: int, prefetch: int, inputs: bool = False
) -> tuple[pd.DataFrame, float, dict]:
    """Describe ``rows`` in batches of ``batch_size`` through the runner's loop
    (``describe_batches``, ``prefetch`` batches of media work ahead in a thread, and with
    ``inputs`` their model inputs too); returns (rows, wall s, per-descriptor).

    ``spent["cpu"]`` is the process CPU time (every thread): on a shared machine wall
    time also counts the other jobs, CPU time does not. ``spent["cpu_main"]`` is the
    main thread's alone (the model passes; with prefetch the media work is elsewhere),
    ``spent["prefetch"]`` the wall seconds the prefetch thread spent preparing batches
    (media work and the model inputs it encoded).
    """
    from gdo.descriptors.base import BatchContext
    from gdo.descriptors.registry import build
    from gdo.descriptors.stage import describe_batches

    items = build(cfg.descriptors["items"])
    spent = timed(items)
    real = {name: getattr(BatchContext, name) for name in ("prepare", "prepare_encodings")}

    def clocked(name: str):
        def run(self, *args, **kwargs):
            t = time.perf_counter()
            try:
                return real[name](self, *args, **kwargs)
            finally:
                spent["prefetch"] += time.perf_counter() - t

        return run

    chunks = [rows[start : start + batch_size] for start in range(0, len(rows), batch_size)]
    out = []
    load = [os.getloadavg()[0]]
    for name in real:
        setattr(BatchContext, name, clocked(name))
    try:
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        for got in describe_batches(
            chunks,
            items,
            model,
            int(cfg.seed),
            int(cfg.descriptors.max_frames),
            prefetch=prefetch,
            num_threads=1,
            prefetch_inputs=inputs,
        ):
            out += got
            load.append(os.getloadavg()[0])
        wall = time.perf_counter() - t0
        spent["cpu"] = time.process_time() - c0
        spent["cpu_main"] = time.thread_time() - m0
    finally:
        for name, method in real.items():
            setattr(BatchContext, name, method)
    spent["load"] = float(np.mean(load))
    spent.setdefault("prefetch", 0.0)
    return pd.DataFrame(out), wall, dict(spent)


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
    ap.add_argument(
        "--prefetch", type=int, nargs="+", default=None,
        help="descriptors.prefetch values to run each batch size with (default: the config's)",
    )  # fmt: skip
    ap.add_argument(
        "--prefetch-inputs", choices=["auto", "on", "off"], default="auto",
        help="descriptors.prefetch_inputs (auto: as `gdo describe` decides for this model)",
    )  # fmt: skip
    ap.add_argument(
        "--slices", type=int, default=1,
        help="run the arms slice by slice, alternating their order (machine drift hits all)",
    )  # fmt: skip
    ap.add_argument("--out", default=None, help="write the result table (Markdown) here")
    ap.add_argument(
        "--separations", action="store_true",
        help="instead: describe the whole pool and check each descriptor against truth.parquet",
    )  # fmt: skip
    args = ap.parse_args()

    os.environ.setdefault("GDO_PROGRESS", "0")
    import torch

    torch.set_num_threads(1)
    from gdo.descriptors.stage import (
        POOL_FIELDS,
        load_describe_model,
        plain_row,
        prefetch_inputs,
        sort_for_padding,
    )
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
    prefetches = args.prefetch if args.prefetch is not None else [int(cfg.descriptors.prefetch)]
    inputs = {"on": True, "off": False}.get(args.prefetch_inputs)
    inputs = prefetch_inputs(cfg, model) if inputs is None else inputs
    # Warm-up outside the clock (first-call allocations, lazy imports).
    bench(cfg, rows[:4], model, 4, prefetches[0], inputs)

    arms = [(bs, pf) for bs in args.batch_sizes for pf in prefetches]
    # Slices whose size is a multiple of every batch size: each arm's batches are those of
    # one whole run. Each slice runs every arm, in alternating order (ABBA), so slow and
    # fast spells of a shared machine fall on all arms alike.
    unit = math.lcm(*args.batch_sizes)
    size = -(-len(rows) // max(1, args.slices) // unit) * unit or unit
    slices = [rows[k : k + size] for k in range(0, len(rows), size)]
    parts: dict[tuple[int, int], list] = {arm: [] for arm in arms}
    for k, part in enumerate(slices):
        for arm in arms if k % 2 == 0 else arms[::-1]:
            parts[arm].append(bench(cfg, part, model, *arm, inputs))
    results, tables = [], {}
    for bs, pf in arms:
        tables[bs, pf] = pd.concat([table for table, _, _ in parts[bs, pf]], ignore_index=True)
        secs = sum(s for _, s, _ in parts[bs, pf])
        spent = defaultdict(float)
        for _, _, one in parts[bs, pf]:
            for key, value in one.items():
                spent[key] += value / len(slices) if key == "load" else value
        cpu, cpu_main = spent.pop("cpu"), spent.pop("cpu_main")
        load = spent.pop("load")
        results.append(
            {
                "batch_size": bs,
                "prefetch": pf,
                "load_1m": load,
                "wall_s": secs,
                "samples_per_s": len(rows) / secs,
                "cpu_s": cpu,
                "cpu_main_s": cpu_main,
                "samples_per_cpu_s": len(rows) / cpu,
                **{f"s_{k}": v for k, v in spent.items()},
            }
        )
        print(
            f"batch {bs} prefetch {pf}: {len(rows)} candidates in {secs:.1f}s "
            f"= {len(rows) / secs:.2f} samples/s (cpu {cpu:.1f}s, load {load:.2f})",
            flush=True,
        )
    res = pd.DataFrame(results)
    for col, name in (("samples_per_s", "speedup_wall"), ("samples_per_cpu_s", "speedup_cpu")):
        base = res[res.batch_size == 1].set_index("prefetch")[col]
        res[name] = res[col] / res.prefetch.map(base)

    # The arms must agree (same uids, same values up to padding noise; SC seeded per uid).
    agree = []
    ref = tables[args.batch_sizes[-1], prefetches[-1]].set_index("uid")
    for (bs, pf), t in tables.items():
        t = t.set_index("uid").loc[ref.index]
        for col in ("amm", "vds", "ppl", "tnc", "sc"):
            a, b = t[col].to_numpy(float), ref[col].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            agree.append(
                {
                    "batch_size": bs,
                    "prefetch": pf,
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
            f"failed rows: {int((next(iter(tables.values())).status != 'ok').sum())}. "
            f"Model inputs encoded by the prefetch thread: {'yes' if inputs else 'no'}. "
            f"Slices: {len(slices)} (each arm ran on each slice in turn, order alternating). "
            "load_1m: mean 1-minute load average while the arm ran. "
            "speedup_*: over batch size 1 with the same prefetch. cpu_s: all threads; "
            "cpu_main_s: the main thread (model passes); s_prefetch: wall seconds the "
            "prefetch thread spent on media work (decode, optical flow, model frames).",
            "",
            f"Code: {commit()}.",
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
