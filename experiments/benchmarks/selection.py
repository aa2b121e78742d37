"""Benchmark: `gdo select` core (goal re-mix + stratum key + budget + constrained fill).

    python experiments/benchmarks/selection.py                      # 1M and 10M, every goal
    python experiments/benchmarks/selection.py --sizes 1000000      # one size

Each size runs in its own process so that its peak memory (ru_maxrss) is its own.
Targets: <= 5 s per goal at 1M, <= 60 s at 10M, peak memory <= 8 GB at 10M.
Writes the measured table to experiments/benchmarks/selection.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOALS = ("minloss", "diverse", "temp", "temp_plus", "target", "uniform")
TARGET_S = {1_000_000: 5.0, 10_000_000: 60.0}


def _compose(goal: str):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import gdo.config  # noqa: F401  (registers the schemas)
    from gdo.cli import conf_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        return compose(config_name="config", overrides=[f"goal={goal}"])


def make_scores_frame(n: int, seed: int = 0, n_groups: int = 12):
    """A scores.parquet-shaped table of ``n`` rows with compact dtypes (a DataFrame).

    Categoricals are built from codes and scores are float32, so 10M rows take
    well under 1 GB; the columns are what ``select_goal`` reads.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def cat(codes, names: list[str]):
        return pd.Categorical.from_codes(codes, categories=names)

    def f32(x):
        return x.astype(np.float32, copy=False)

    b = rng.choice(3, size=n, p=[0.45, 0.4, 0.15]).astype(np.int8)
    is_video = b > 0
    temporal = is_video & (rng.random(n, dtype=np.float32) < 0.4)
    dur = np.where(is_video, rng.integers(0, 4, size=n, dtype=np.int8), 4).astype(np.int8)
    n_clips = max(n // 4, 1)
    clip = np.where(is_video, rng.integers(1, n_clips, size=n, dtype=np.int32), 0)
    frame = pd.DataFrame(
        {
            "bucket": cat(b, ["image", "short_video", "long_video"]),
            "duration_bin": cat(dur, ["0-30s", "30-60s", "60-120s", "120-180s", "none"]),
            "temporal": temporal,
            "is_mcq": rng.random(n, dtype=np.float32) < 0.4,
            "qlen_bin": cat(rng.integers(0, 3, size=n, dtype=np.int8), ["q0", "q1", "q2"]),
            "alen_bin": cat(rng.integers(0, 3, size=n, dtype=np.int8), ["a0", "a1", "a2"]),
            "source_group": cat(
                rng.integers(0, n_groups, size=n, dtype=np.int8), [f"g{i}" for i in range(n_groups)]
            ),
            "is_video": is_video,
            "temporal_video": temporal,
            "video_id": cat(clip, ["", *[f"clip{i}.mp4" for i in range(1, n_clips)]]),
            "vds3": f32(rng.standard_normal(n, dtype=np.float32) + 0.5 * temporal),
            "z_q": rng.standard_normal(n, dtype=np.float32),
            "cluster_hard": rng.random(n, dtype=np.float32),
            "goal_rel_mvbench": rng.random(n, dtype=np.float32),
            "text_key": rng.integers(0, 2**62, size=n, dtype=np.int64).astype(np.uint64),
        }
    )
    for comp in ("text_quality", "difficulty", "alignment", "rarity"):
        frame[comp] = rng.random(n, dtype=np.float32)
    frame["temporal_bonus"] = temporal.astype(np.float32)
    return frame


def run_one(n: int, seed: int) -> dict:
    """Generate ``n`` candidates, select every goal, return timings and peak memory."""
    from gdo.selection.stage import select_goal

    cfgs = {g: _compose(g) for g in GOALS}
    t0 = time.perf_counter()
    frame = make_scores_frame(n, seed=seed)
    gen_s = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux: KiB
    rows, ref = [], None
    for g in GOALS:
        cfg = cfgs[g]
        t, cpu = time.perf_counter(), time.process_time()
        gs = select_goal(frame, cfg.goal, cfg.select, seed, [], ref)
        dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
        if g == "temp_plus":
            ref = len(gs.selection.index)
        statuses = {c.name: c.status for c in gs.selection.plan.constraints}
        rows.append(
            {
                "goal": g,
                "seconds": round(dt, 2),
                "cpu_seconds": round(dcpu, 2),
                "budget": gs.budget.value,
                "bound": gs.budget.bound,
                "selected": int(len(gs.selection.index)),
                "not_met": sorted(k for k, v in statuses.items() if v != "met"),
            }
        )
        print(f"  n={n:,} {g:10s} {dt:6.2f} s (cpu {dcpu:6.2f} s)", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    return {
        "n": n,
        "generate_s": round(gen_s, 2),
        "frame_gb": round(frame.memory_usage(deep=True).sum() / 1e9, 3),
        "rss_after_generate_gb": round(rss_data, 2),
        "peak_rss_gb": round(peak, 2),
        "goals": rows,
    }


def machine() -> dict:
    """What the numbers were measured on (the machine is shared)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def write_md(results: list[dict], info: dict, path: Path) -> None:
    """The benchmark table as Markdown."""
    lines = [
        "# `gdo select` benchmark",
        "",
        f"Command: `{' '.join(['python experiments/benchmarks/selection.py', *sys.argv[1:]])}` "
        "(one process per size; "
        "synthetic scores table from `make_scores_frame` in this script, compact "
        "dtypes: categoricals, float32, uint64 text keys).",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['date']}. "
        f"**Shared machine**: load average {info['load_avg_at_start']} at start (other "
        "engineers' jobs on the same 2 cores), so times are pessimistic.",
        "",
        "Timed per goal: `select_goal` = goal score re-mix, stratum key, budget, dedup, "
        "per-video cap, constrained fill, constraint check (not parquet I/O nor the "
        "training-file export, which only touch the selected rows).",
        "",
        "| candidates | goal | wall s | CPU s | target (wall) | budget (bound) | selected "
        "| not met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        target = TARGET_S.get(r["n"])
        for g in r["goals"]:
            tgt = "-" if target is None else f"<= {target:g} s"
            tgt += "" if target is None else (" ok" if g["seconds"] <= target else " **over**")
            lines.append(
                f"| {r['n']:,} | {g['goal']} | {g['seconds']:.2f} | {g['cpu_seconds']:.2f} "
                f"| {tgt} | "
                f"{g['budget']:,} ({g['bound']}) | {g['selected']:,} | "
                f"{', '.join(g['not_met']) or '-'} |"
            )
    lines += [
        "",
        "| candidates | generate (s) | frame in memory (GB) | peak RSS (GB) | target |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        tgt = (
            "<= 8 GB" + (" ok" if r["peak_rss_gb"] <= 8 else " **over**") if r["n"] >= 10**7 else ""
        )
        lines.append(
            f"| {r['n']:,} | {r['generate_s']} | {r['frame_gb']} | {r['peak_rss_gb']} | {tgt} |"
        )
    lines += [
        "",
        "Peak RSS is the whole process (data generation included). CPU s is the process CPU "
        "time (`time.process_time`), less sensitive than wall time to the other jobs on the "
        "machine. The 10M budgets are `recommended` (exp(stratum entropy) x 25 x "
        "(1 + mean cluster_hard ~ 0.5): ~1.8k effective strata), inside [min_count, max_count] "
        "and under the max_ratio cap; the uniform goal is 10 x the temp_plus subset.",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=HERE / "selection.md")
    args = ap.parse_args()
    os.environ.setdefault("GDO_PROGRESS", "0")
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.seed)), flush=True)
        return 0
    info = machine()
    results = []
    for n in args.sizes:
        print(f"n={n:,}", flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stdout.write(proc.stdout.replace("RESULT ", "# "))
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
        results.append(json.loads(line[len("RESULT ") :]))
    write_md(results, info, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
