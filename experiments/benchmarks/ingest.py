"""Ingest benchmark: a generated LLaVA-Video-178K-shaped JSONL pool -> candidates -> parquet.

    python experiments/benchmarks/ingest.py                 # 1M candidates (the target)
    python experiments/benchmarks/ingest.py --candidates 100000 --keep /tmp/bench
    python experiments/benchmarks/ingest.py --workers 1     # one process (default: min(4, cpus))
    python experiments/benchmarks/ingest.py --out outputs/bench/results/ingest.md

Measures wall time and candidates/s of ``gdo.pool.read_candidates`` and of writing
``pool.parquet``, then (separately) the pool's dedup + per-video cap, and the peak
resident memory of the process (``ru_maxrss``). The pool is generated in a child
process so its memory does not count. Prints the figures as JSON; ``--out`` also writes
them as Markdown. Recorded runs: experiments/benchmarks/ingest.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCES = [
    "0_30_s_academic_v0_1",
    "0_30_s_nextqa",
    "30_60_s_youtube_v0_1",
    "1_2_m_activitynet",
    "2_3_m_perceptiontest",
]
WORDS = (
    "the a man woman dog car ball red blue green moves left right after before then "
    "picks up puts down opens closes table kitchen street camera video scene"
).split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def generate(path: Path, n_candidates: int, seed: int = 0) -> dict[str, int]:
    """Write LLaVA-Video-178K records (oe: 1-4 QA turns; mc: one turn with options)."""
    try:
        import orjson

        def dumps(obj) -> str:
            return orjson.dumps(obj).decode()
    except ImportError:
        dumps = json.dumps
    rng = random.Random(seed)
    records = candidates = 0
    with open(path, "w", encoding="utf-8") as fh:
        while candidates < n_candidates:
            src = rng.choice(SOURCES)
            vid = f"{rng.randrange(10**4)}-{rng.randrange(10**10)}"
            left = n_candidates - candidates
            if rng.random() < 0.3:
                q = (
                    f"<image>\n{sentence(rng, 9)}?\nOptions:\n"
                    + "\n".join(f"{c}. {sentence(rng, 3)}." for c in "ABCD")
                    + "\nPlease respond with only the letter of the correct answer."
                )
                conv = [
                    {"from": "human", "value": q},
                    {"from": "gpt", "value": f"{rng.choice('ABCD')}."},
                ]
            else:
                conv = []
                for t in range(min(left, rng.randint(1, 4))):
                    prefix = "<image>\n" if t == 0 else ""
                    conv += [
                        {"from": "human", "value": f"{prefix}{sentence(rng, 10)}?"},
                        {"from": "gpt", "value": f"{sentence(rng, 14)}."},
                    ]
            rec = {
                "id": f"{vid}-{records}",
                "conversations": conv,
                "data_source": src,
                "video": f"{src}/videos/{vid}.mp4",
            }
            fh.write(dumps(rec) + "\n")
            records += 1
            candidates += len(conv) // 2
    return {"records": records, "candidates": candidates, "bytes": path.stat().st_size}


def maxrss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu_s() -> float:
    """CPU seconds of finished child processes (the parallel reader's workers)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def measure(path: Path, out_dir: Path, workers: int | None = None) -> dict[str, float]:
    """Run in a fresh process: read -> parquet, then dedup + cap; times and peak RSS.

    With ``workers`` > 1 the read's CPU time includes the workers' (they are joined
    before ``read_candidates`` returns), and their peak RSS is reported separately.
    """
    os.environ.setdefault("GDO_PROGRESS", "0")
    import pandas as pd  # noqa: F401  (import cost is not ingestion cost)

    from gdo.pool import read_candidates
    from gdo.pool.build import dedup_and_cap
    from gdo.pool.report import IngestReport
    from gdo.pool.schema import write_candidates

    rss0 = maxrss_mb()
    load_before = os.getloadavg()[0]
    s0, k0, t0 = time.process_time(), children_cpu_s(), time.perf_counter()
    df = read_candidates(path, media_root="/data/LLaVA-Video-178K", workers=workers)
    s1, k1, t1 = time.process_time(), children_cpu_s(), time.perf_counter()
    load_after_read = os.getloadavg()[0]
    c0, c1 = s0 + k0, s1 + k1
    write_candidates(out_dir / "pool.parquet", df)
    c2, t2 = time.process_time() + children_cpu_s(), time.perf_counter()
    rss_read = maxrss_mb()
    report = IngestReport()
    kept = dedup_and_cap(df, report)
    t3 = time.perf_counter()
    return {
        "candidates": len(df),
        "workers": workers,
        "read_s": t1 - t0,
        "parquet_s": t2 - t1,
        # CPU seconds of this process: on a shared machine, wall time includes waiting.
        "read_cpu_s": c1 - c0,
        "read_cpu_main_s": s1 - s0,
        "read_cpu_workers_s": k1 - k0,
        "loadavg_1m_before_read": load_before,
        "loadavg_1m_after_read": load_after_read,
        "parquet_cpu_s": c2 - c1,
        "dedup_cap_s": t3 - t2,
        "kept_after_dedup_cap": len(kept),
        "dropped": dict(report.dropped),
        "rss_before_mb": rss0,
        "peak_rss_read_write_mb": rss_read,
        "peak_rss_total_mb": maxrss_mb(),
        # Largest single worker (Linux: KiB); all workers together are at most
        # workers x this, on top of the main process.
        "peak_rss_one_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "parquet_mb": (out_dir / "pool.parquet").stat().st_size / 2**20,
    }


def phases(path: Path) -> dict[str, float]:
    """CPU seconds of each step of the one-process ``read_candidates``, one by one (GC paused)."""
    import gc

    import orjson

    from gdo.pool.columns import CandidateColumns, frame_from_chunks
    from gdo.pool.records import FileContext, MediaPolicy, RecordConverter

    gc.disable()
    clock = time.process_time
    out = {}
    t = clock()
    with open(path, "rb") as fh:
        lines = fh.readlines()
    out["read_lines"], t = clock() - t, clock()
    recs = [orjson.loads(line) for line in lines]
    out["parse_json"], t = clock() - t, clock()
    conv = RecordConverter(
        FileContext(file=str(path), variant="bench", media_root="/data"), MediaPolicy()
    )
    cols = CandidateColumns()
    for i, rec in enumerate(recs):
        conv.convert_into(rec, i, cols)
    out["convert_records"], t = clock() - t, clock()
    chunk = cols.chunk()
    out["to_columns"], t = clock() - t, clock()
    frame_from_chunks([chunk])
    out["build_dataframe"] = clock() - t
    gc.enable()
    return out


def _child(path: str, out_dir: str, workers: int | None, conn) -> None:
    conn.send(measure(Path(path), Path(out_dir), workers))


def write_md(path: Path, res: dict) -> None:
    """The run as Markdown: the command, the headline figures, then every figure."""
    cmd = " ".join(["python experiments/benchmarks/ingest.py", *sys.argv[1:]])
    lines = [
        "# Ingest benchmark",
        "",
        f"Command: `{cmd}` ({res['date']}, {res['platform']}, {res['nproc_cmd']} CPUs, "
        f"load average {res['loadavg_1m']:.1f} at the end).",
        "",
        "| candidates | workers | read s | read CPU s | read + parquet candidates/s "
        "| dedup + cap s | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
        f"| {res['candidates']:,} | {res['workers'] or 'default'} | {res['read_s']:.2f} "
        f"| {res['read_cpu_s']:.2f} | {res['read_and_parquet_per_s']:,.0f} "
        f"| {res['dedup_cap_s']:.2f} | {res['peak_rss_total_mb']:,.0f} |",
        "",
        "```json",
        json.dumps(res, indent=2, default=str),
        "```",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep the files in")
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes parsing the JSONL, this one included (default: min(4, cpus); 1: one)",
    )
    ap.add_argument("--phases", action="store_true", help="also time each step (CPU s)")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here (.md)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="gdo-ingest-") if args.keep is None else None
    work = Path(tmp.name) if tmp else args.keep
    work.mkdir(parents=True, exist_ok=True)
    pool = work / "llava_video_pool.jsonl"

    t0 = time.perf_counter()
    gen = generate(pool, args.candidates)
    gen["generate_s"] = round(time.perf_counter() - t0, 2)
    print(f"generated {gen}", flush=True)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(str(pool), str(work), args.workers, child))
    proc.start()
    res = parent.recv()
    proc.join()
    total = res["read_s"] + res["parquet_s"]
    res.update(
        read_per_s=res["candidates"] / res["read_s"],
        read_and_parquet_per_s=res["candidates"] / total,
        input_mb=gen["bytes"] / 2**20,
        records=gen["records"],
        nproc=os.cpu_count(),
        # `nproc` honours OMP_NUM_THREADS; ask it without.
        nproc_cmd=subprocess.run(
            ["nproc"],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("OMP_")},
        ).stdout.strip(),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
        python=sys.version.split()[0],
        platform=platform.platform(),
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        loadavg_1m=os.getloadavg()[0],
    )
    if args.phases:
        res["phases_cpu_s"] = phases(pool)
    print(json.dumps(res, indent=2, default=str))
    if args.out:
        write_md(args.out, res)
        print(f"wrote {args.out}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
