"""Benchmark: `gdo describe` throughput on the world's pool, per arm of code and settings.

    python experiments/benchmarks/describe.py                 # make bench: this code's arms
    python experiments/benchmarks/describe.py --baseline 2195624 --repeats 2 \
        --out /tmp/describe_bench.md                          # before / after, same inputs

Every arm runs ``gdo.descriptors.stage.run`` (the rank loop ``gdo describe`` runs: read
the pool, sort, batch, media work, model passes, shard writes) in its own process on the
same clip-complete sample of the pool (``--n`` candidates: whole clips, every QA turn of
each, drawn with a fixed seed), with the same model, and reports candidates/s and CPU
seconds per candidate (the process and its media workers; model loading excluded). Two
configurations: ``full`` (every descriptor, the base model) and ``media`` (motion,
coverage's RGB statistics, TNC: no model), which isolates the media work. ``--baseline
COMMIT`` adds an arm running that commit's code (its ``gdo/`` and ``conf/`` from
``git archive``, with the same environment), and every arm's shard rows are compared
with the first arm's, bit for bit.

Inputs: ``--root`` is a ``paths.root_dir``; its world (``--world``, default ``demo``),
``gdo pool`` and ``gdo pretrain`` outputs (experiment ``--name``) are built when missing
(about 2.5 minutes on 2 cores) unless ``--no-prepare``, which instead names the command
and exits 2. ``--separations`` describes the whole pool and checks each descriptor
against the world's truth.parquet; ``--read-rows N --ranks W`` times rank 0 of W
reading an N-row copy of the pool, as the previous runner did (whole table) and as
``read_rank`` does (its columns and clips), with peak memory.
"""

from __future__ import annotations

import sys

# This folder holds a `select.py`, which would shadow the standard library's `select`
# (imported by pyarrow via socket) when this script runs from here: drop the folder.
sys.path[:] = [p for p in sys.path if not p.endswith("experiments/benchmarks")]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MEDIA_ONLY = (
    "descriptors.specs.visual_dependency=null",
    "descriptors.specs.difficulty=null",
    "descriptors.specs.self_consistency=null",
)
MODES = {"full": (), "media": MEDIA_ONLY}


def compose(overrides: list[str]):
    """The config ``gdo`` composes, from the imported package's own conf/ folder."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import gdo.config  # noqa: F401
    from gdo.cli import conf_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        return hydra_compose(config_name="config", overrides=overrides)


def git(*args: str, cwd: Path = REPO) -> str:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not refresh (write) the index.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    return out.stdout.strip()


def commit() -> str:
    """The checked-out commit, and whether the working tree differs from it."""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head} with uncommitted changes" if dirty else head


def markdown(df: pd.DataFrame) -> str:
    """A Markdown table (no tabulate dependency)."""
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


# --- inputs -------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> Path:
    """The world, pool and (without ``--model``) base model of ``--root``/``--name``,
    built where missing; returns the model folder. With ``--no-prepare`` a missing one
    ends the run with a line naming the command that makes it."""
    from gdo.utils.stage import work_dir, world_dir

    base = [f"paths.root_dir={args.root}", f"world={args.world}", f"name={args.name}"]
    cfg = compose([*base, "logger=none"])
    steps = [
        ("gdo world", world_dir(cfg) / "manifest.json", "gdo.world.stage"),
        ("gdo pool", work_dir(cfg) / "pool" / "pool.parquet", "gdo.pool.stage"),
        ("gdo pretrain", work_dir(cfg) / "base_model" / "manifest.json", "gdo.training.pretrain"),
    ]
    if args.model:
        steps.pop()
    for command, made, module in steps:
        if made.exists():
            continue
        line = " ".join([command, *base])
        if args.no_prepare:
            print(f"describe benchmark: {made} is missing; make it with `{line}`", flush=True)
            raise SystemExit(2)
        print(f"describe benchmark: {made} is missing; running `{line}`", flush=True)
        __import__(module, fromlist=["run"]).run(cfg)
    return Path(args.model) if args.model else work_dir(cfg) / "base_model"


def clip_sample(pool: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """Whole clips (every QA turn of each), drawn in a seeded order until ``n`` rows."""
    from gdo.descriptors.clips import shard_key

    clip = [shard_key(u, v, m) for u, v, m in zip(pool.uid, pool.video_id, pool.media)]
    groups = pd.Series(range(len(pool))).groupby(pd.Series(clip)).apply(list)
    order = np.random.default_rng(seed).permutation(len(groups))
    rows: list[int] = []
    for g in order:
        if len(rows) >= n:
            break
        rows += groups.iloc[g]
    return pool.iloc[sorted(rows)].reset_index(drop=True)


def baseline_tree(ref: str, into: Path) -> Path:
    """``gdo/`` and ``conf/`` of commit ``ref`` (``git archive``) under ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", ref, "gdo", "conf"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


# --- one arm, in its own process ------------------------------------------------------


def measure(args: argparse.Namespace) -> int:
    """``--measure``: describe the work dir's pool once; print one JSON line."""
    import logging

    import torch

    import gdo

    torch.set_num_threads(1)
    if args.code and not Path(gdo.__file__).resolve().is_relative_to(Path(args.code).resolve()):
        raise SystemExit(f"--code {args.code}: imported gdo from {gdo.__file__}")
    from gdo.descriptors.registry import build
    from gdo.descriptors.stage import load_describe_model, run

    cfg = compose(json.loads(args.measure))
    stats: list = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "media work for" in str(record.msg):
                stats.append(record.args[-4:-1])  # clips, frame loads, media seconds

    logging.getLogger("gdo.descriptors.stage").addHandler(Keep())
    logging.getLogger("gdo.descriptors.stage").setLevel(logging.INFO)
    items = build(cfg.descriptors.specs)
    needs_model = any(it.enabled and it.descriptor.needs_model for it in items)
    model = load_describe_model(cfg) if needs_model else None
    self0, kids0 = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    t0 = time.perf_counter()
    shard = run(cfg, model=model)
    wall = time.perf_counter() - t0
    self1, kids1 = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    cpu = lambda a, b: (b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime)  # noqa: E731
    out = {
        "wall_s": wall,
        "cpu_s": cpu(self0, self1) + cpu(kids0, kids1),
        "cpu_main_s": cpu(self0, self1),
        "load_1m": os.getloadavg()[0],
        "shard": str(shard),
        "clips": stats[-1][0] if stats else None,
        "frame_loads": stats[-1][1] if stats else None,
    }
    print("RESULT " + json.dumps(out), flush=True)
    return 0


def arm(args, label: str, code: Path | None, overrides: list[str]) -> dict:
    """Run one arm in a fresh process (``code``: another tree's gdo); its measurements."""
    env = {**os.environ, "GDO_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", json.dumps(overrides)]
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
        cmd += ["--code", str(code)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=code or REPO)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"arm {label} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def shard_rows(path: str) -> pd.DataFrame:
    """An arm's shard rows, by uid."""
    rows = [json.loads(ln) for ln in Path(path).read_text().splitlines()[1:]]
    return pd.DataFrame(rows).sort_values("uid").reset_index(drop=True)


def compare(ref: pd.DataFrame, got: pd.DataFrame) -> tuple[bool, float]:
    """(bit-identical?, largest absolute difference of a float column)."""
    if list(ref.uid) != list(got.uid) or list(ref.columns) != list(got.columns):
        return False, float("nan")
    diffs = [0.0]
    for c in ref.columns:
        if ref[c].dtype.kind == "f":
            a, b = ref[c].to_numpy(), got[c].to_numpy()
            both = np.isfinite(a) & np.isfinite(b)
            diffs.append(float(np.max(np.abs(a[both] - b[both]), initial=0.0)))
    return ref.equals(got), max(diffs)


def throughput(args: argparse.Namespace) -> int:
    """Every arm on the same clip sample, ``--repeats`` rounds (order alternating)."""
    from gdo.descriptors.clips import media_keys
    from gdo.utils.stage import work_dir

    base_model = prepare(args)
    root = Path(args.root)
    cfg = compose([f"paths.root_dir={root}", f"world={args.world}", f"name={args.name}"])
    sample = clip_sample(pd.read_parquet(work_dir(cfg) / "pool" / "pool.parquet"), args.n)
    keys = media_keys(sample)
    n_media = sum(k is not None for k in keys)
    n_clips = len({k for k in keys if k is not None})
    tmp = Path(tempfile.mkdtemp(prefix="describe_bench_"))
    arms: list[tuple[str, Path | None, list[str]]] = []
    if args.baseline:
        code = baseline_tree(args.baseline, tmp / "baseline")
        arms.append((f"{args.baseline} (before)", code, []))
    arms += [(f"workers={w}", None, [f"descriptors.workers={w}"]) for w in args.workers]
    rows, identical = [], []
    for mode in args.modes:
        results: dict[str, list[dict]] = {label: [] for label, _, _ in arms}
        for rep in range(args.repeats):
            for k, (label, code, extra) in enumerate(arms if rep % 2 == 0 else arms[::-1]):
                name = f"bench_{mode}_{rep}_{k}"
                # A fresh work dir: shards left by an earlier run would be resumed, not redone.
                shutil.rmtree(root / "outputs" / name, ignore_errors=True)
                pool_dir = root / "outputs" / name / "pool"
                pool_dir.mkdir(parents=True)
                sample.to_parquet(pool_dir / "pool.parquet", index=False)
                overrides = [
                    f"paths.root_dir={root}", f"world={args.world}", f"name={name}",
                    f"descriptors.model_path={base_model}", "descriptors.fsync=false",
                    "logger=none", *MODES[mode], *args.set, *extra,
                ]  # fmt: skip
                got = arm(args, label, code, overrides)
                results[label].append(got)
                print(
                    f"{mode} {label} round {rep}: {len(sample) / got['wall_s']:.1f} candidates/s, "
                    f"{1000 * got['cpu_s'] / len(sample):.2f} CPU ms/candidate "
                    f"(load {got['load_1m']:.2f})",
                    flush=True,
                )
        ref = shard_rows(results[arms[0][0]][0]["shard"])
        for label, runs in results.items():
            wall = float(np.median([r["wall_s"] for r in runs]))
            cpu = float(np.median([r["cpu_s"] for r in runs]))
            last = runs[-1]
            checks = [compare(ref, shard_rows(r["shard"])) for r in runs]
            identical.append(
                {
                    "mode": mode,
                    "arm": label,
                    "bit_identical_rounds": f"{sum(same for same, _ in checks)}/{len(checks)}",
                    "max_abs": max(diff for _, diff in checks),
                }
            )
            rows.append(
                {
                    "mode": mode,
                    "arm": label,
                    "rounds": len(runs),
                    "candidates_per_s": len(sample) / wall,
                    "cpu_ms_per_candidate": 1000 * cpu / len(sample),
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "cpu_main_s": float(np.median([r["cpu_main_s"] for r in runs])),
                    "load_1m": float(np.mean([r["load_1m"] for r in runs])),
                    "model_frame_loads": last["frame_loads"] if last["frame_loads"] is not None
                    else "one per candidate with media",
                }
            )  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    cmd = " ".join(["python", "experiments/benchmarks/describe.py", *sys.argv[1:]])
    text = "\n".join(
        [
            "# Describe throughput",
            "",
            f"Command: `{cmd}`",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch threads 1 per process. "
            f"Code: {commit()}. World `{args.world}`, base model `{base_model}`. "
            f"Candidates: {len(sample)} (whole clips, seeded), {n_media} with media in "
            f"{n_clips} distinct clips ({n_media / max(n_clips, 1):.2f} QA turns per clip). "
            "Medians over rounds; cpu: the process and its media workers, model loading "
            "excluded; cpu_main: the process alone.",
            "",
            markdown(table),
            "",
            f"Shard rows of every round against `{arms[0][0]}`'s first (every column, by uid):",
            "",
            markdown(pd.DataFrame(identical)),
            "",
        ]
    )
    out = Path(args.out) if args.out else REPO / "outputs" / "benchmarks" / "describe.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    return 0


def synthetic_pool(pool: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``pool`` repeated to ``rows`` rows, each copy its own candidates and clips."""
    from gdo.pool.schema import make_uid

    parts = []
    for k in range(-(-rows // len(pool))):
        tag = f"#{k}"
        parts.append(
            pool.assign(
                uid=[make_uid(s, i + tag, t) for s, i, t in zip(pool.source, pool.sample_id, pool.turn)],
                video_id=[v + tag if v else v for v in pool.video_id],
                media=[[p + tag for p in m] for m in pool.media],
            )
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True).iloc[:rows]


def peak_mb() -> float:
    """This process's peak resident memory since it started (VmHWM). ru_maxrss would
    do on Linux only for a parent that was small when it forked: it carries over."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_read(args: argparse.Namespace) -> int:
    """``--measure-read``: one rank's rows, read the previous way or by ``read_rank``."""
    from gdo.descriptors.reader import read_rank
    from gdo.descriptors.shards import shard_of
    from gdo.descriptors.stage import POOL_FIELDS

    how, path, ranks = args.measure_read.split(",")
    t0 = time.perf_counter()
    if how == "whole":  # the previous runner: every column of every row, then a filter
        pool = pd.read_parquet(path)
        mine = pool[[shard_of(u, int(ranks)) == 0 for u in pool["uid"]]]
    else:
        mine = read_rank(path, 0, int(ranks), POOL_FIELDS)
    wall = time.perf_counter() - t0
    print("RESULT " + json.dumps({"rows": len(mine), "wall_s": wall, "peak_mb": peak_mb()}))
    return 0


def read_scale(args: argparse.Namespace) -> int:
    """``--read-rows N``: rank 0 of ``--ranks`` reading an N-row pool, both ways."""
    from gdo.utils.stage import work_dir

    prepare(args)
    cfg = compose([f"paths.root_dir={args.root}", f"world={args.world}", f"name={args.name}"])
    tmp = Path(tempfile.mkdtemp(prefix="describe_read_"))
    path = tmp / "pool.parquet"
    big = synthetic_pool(pd.read_parquet(work_dir(cfg) / "pool" / "pool.parquet"), args.read_rows)
    big.to_parquet(path, index=False)
    size_mb = path.stat().st_size / 2**20
    del big
    out = []
    for how in ("whole", "rank"):
        cmd = [sys.executable, str(Path(__file__).resolve()),
               "--measure-read", f"{how},{path},{args.ranks}"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        if done.returncode != 0 or not line:
            raise SystemExit(f"read {how} failed:\n{done.stderr[-3000:]}")
        got = json.loads(line[-1][len("RESULT ") :])
        out.append({"read": how, **got})
    shutil.rmtree(tmp, ignore_errors=True)
    table = pd.DataFrame(out)
    print(table.to_string(index=False))
    cmd = " ".join(["python", "experiments/benchmarks/describe.py", *sys.argv[1:]])
    text = (
        f"# One rank's read of the pool\n\nCommand: `{cmd}`\n\nCode: {commit()}. "
        f"Pool: {args.read_rows} rows ({size_mb:.0f} MiB parquet), rank 0 of {args.ranks}. "
        "whole: every column and row, then a filter (the previous runner); rank: "
        "`read_rank` (describe's columns, this rank's clips). peak_mb: the process's peak "
        "resident memory.\n\n" + markdown(table) + "\n"
    )
    out_path = Path(args.out) if args.out else REPO / "outputs" / "benchmarks" / "describe_read.md"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text)
    print(f"wrote {out_path}")
    return 0


def separations(args: argparse.Namespace) -> int:
    """``gdo describe`` + merge on the whole pool, then each descriptor vs truth.parquet."""
    from gdo.descriptors.stage import merge, run
    from gdo.utils.stage import work_dir, world_dir

    model = prepare(args)
    overrides = [f"paths.root_dir={args.root}", f"name={args.name}", f"world={args.world}"]
    cfg = compose([*overrides, f"descriptors.model_path={model}"])
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
    text = (
        f"{markdown(pd.DataFrame(out))}\n\nSC median by question type (waste none): {sc_by_type}\n"
    )
    print(text)
    if args.out:
        cmd = " ".join(["python", "experiments/benchmarks/describe.py", *sys.argv[1:]])
        Path(args.out).write_text(
            f"# Descriptor separations on the world\n\nCommand: `{cmd}`\n\n{text}"
        )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".", help="paths.root_dir (world, pool, base model)")
    ap.add_argument("--name", default="bench_describe", help="experiment of the pool and base")
    ap.add_argument("--world", default="demo", help="world preset")
    ap.add_argument("--model", default=None, help="model folder (default <work_dir>/base_model)")
    ap.add_argument("--no-prepare", action="store_true", help="name what is missing, exit 2")
    ap.add_argument("--n", type=int, default=2000, help="candidates (whole clips, seeded)")
    ap.add_argument("--baseline", default=None, help="also run this commit's code (before)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 0],
                    help="descriptors.workers of this code's arms")  # fmt: skip
    ap.add_argument("--modes", nargs="+", default=["full", "media"], choices=sorted(MODES))
    ap.add_argument("--repeats", type=int, default=1, help="rounds (arm order alternating)")
    ap.add_argument("--set", nargs="*", default=[], help="overrides for every arm")
    ap.add_argument("--out", default=None, help="result file (default outputs/benchmarks/)")
    ap.add_argument("--separations", action="store_true",
                    help="instead: describe the whole pool and check it against truth.parquet")  # fmt: skip
    ap.add_argument(
        "--read-rows",
        type=int,
        default=0,
        help="instead: one rank reading a pool of this many rows, both ways",
    )
    ap.add_argument("--ranks", type=int, default=8, help="world size for --read-rows")
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)  # one arm (internal)
    ap.add_argument("--measure-read", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--code", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.root = str(Path(args.root).resolve())
    os.environ.setdefault("GDO_PROGRESS", "0")
    if args.measure is not None:
        return measure(args)
    if args.measure_read is not None:
        return measure_read(args)
    if args.read_rows:
        return read_scale(args)
    if args.separations:
        return separations(args)
    return throughput(args)


if __name__ == "__main__":
    sys.exit(main())
