"""Evaluation throughput: ``gdo evaluate`` on the world's four suites, questions per second.

    python experiments/benchmarks/evaluate.py --world demo --checkpoints 4 \
        --json /tmp/eval_after.json

Prepares what it needs under ``--root`` (default: a temporary folder): the world
(``gdo world world=<--world>``, skipped when present), a random-init tiny Qwen2-VL with
the demo's model settings (``model=tiny_qwen2vl``: 4 frames of 32x32, patch 4; weights do
not change the cost) as the base model, and ``--checkpoints`` copies of it as one goal's
checkpoints. Then it times ``gdo.evaluation.stage.run`` (``eval=world``: likelihood
scoring of whole options, every suite, base model + checkpoints) in this process, after
the imports (the base model is loaded once untimed first): model loading and the first
checkpoint's media decoding are included.
questions/s = questions x models evaluated / wall seconds; the CPU seconds of the process
are printed too (on a shared machine wall time also counts the other jobs).

``--set key=value`` adds config overrides (e.g. ``eval.cache_mb=0``); ``--code DIR`` times
another checkout's ``gdo`` (its package and configs) on the same inputs. ``--ranks N`` runs
``torchrun --nproc_per_node N -m gdo evaluate`` instead and reads the stage's own wall
seconds (rank 0, imports and model loading included) from ``eval/eval_summary.json``. ``--json``
writes the timings and every question's option scores; ``--compare other.json`` reports
how far this run's scores are from another run's (same questions and models).
"""

from __future__ import annotations

import sys

# This folder holds a `select.py`, which would shadow the standard library's `select`.
sys.path[:] = [p for p in sys.path if not p.endswith("experiments/benchmarks")]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import write_record  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NAME = "bench_eval"


def compose(overrides: list[str], code: Path = REPO):
    """The real Hydra config of checkout ``code``, as its ``gdo`` composes it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import gdo.config  # noqa: F401

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(code / "conf")):
        return hydra_compose(config_name="config", overrides=overrides)


def prepare(cfg, n_checkpoints: int) -> int:
    """World, base model and checkpoints under the config's paths; returns models to evaluate."""
    from gdo.models import build_tiny
    from gdo.utils.stage import work_dir, world_dir
    from gdo.world import vocabulary
    from gdo.world.stage import run as make_world
    from gdo.world.stage import to_world_conf

    if not (world_dir(cfg) / "benchmarks" / "index.json").exists():
        make_world(cfg)
    work = work_dir(cfg)
    base = work / "base_model"
    if not (base / "config.json").exists():
        build_tiny(cfg.model, base, vocabulary(to_world_conf(cfg.world)))
    folder = work / "train" / "bench" / "checkpoints"
    wanted = {f"ckpt-{100 * k}" for k in range(1, n_checkpoints + 1)}
    for old in folder.glob("ckpt-*"):
        if old.name not in wanted:  # from an earlier run with more checkpoints
            shutil.rmtree(old)
    for k in range(1, n_checkpoints + 1):
        ck = folder / f"ckpt-{100 * k}"
        if not (ck / "gdo_state.json").exists():
            shutil.copytree(base, ck, dirs_exist_ok=True)
            (ck / "gdo_state.json").write_text(json.dumps({"samples": 100 * k, "goal": "bench"}))
    return n_checkpoints + 1


def scores(cfg) -> dict[str, list]:
    """Every question's option scores, by ``<checkpoint>/<benchmark>/<qid>``."""
    from gdo.utils.stage import work_dir

    out = {}
    for path in sorted((work_dir(cfg) / "eval").glob("*/ckpt-*/*.jsonl")):
        ck = f"{path.parent.parent.name}/{path.parent.name}/{path.stem}"
        for line in path.read_text().splitlines():
            row = json.loads(line)
            out[f"{ck}/{row['qid']}"] = [row["letter"], row["option_scores"]]
    return out


def compare(mine: dict, other: dict) -> str:
    """Agreement of the chosen letters and the largest option-score difference."""
    common = sorted(set(mine) & set(other))
    same = sum(mine[k][0] == other[k][0] for k in common)
    diff = max(
        (abs(a - b) for k in common for a, b in zip(mine[k][1], other[k][1], strict=True)),
        default=0.0,
    )
    return f"{len(common)} answers compared: {same} same letter, max |score difference| {diff:.2e}"


def under_torchrun(args, overrides: list[str], cfg, questions: int, models: int) -> dict:
    """``gdo evaluate`` on ``args.ranks`` ranks (a torchrun process group, gloo on CPU), timed
    by the stage itself (rank 0's wall seconds, its imports and model loading included)."""
    import resource
    import subprocess

    from gdo.utils.stage import work_dir

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={args.ranks}", "-m", "gdo", "evaluate", *overrides]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(args.code), "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=args.code, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads((work_dir(cfg) / "eval" / "eval_summary.json").read_text())
    wall = summary["seconds"]["wall"]
    return {
        "overrides": overrides[3:],
        "ranks": args.ranks,
        "questions": questions,
        "models": models,
        "wall_s": round(wall, 2),
        "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1),
        "questions_per_s": round(questions * models / wall, 1),
        "load_avg": [round(x, 1) for x in os.getloadavg()],
        "scores": scores(cfg),
    }


TITLE = "Evaluation throughput (experiments/benchmarks/evaluate.py)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="small", help="world preset (conf/world)")
    parser.add_argument("--checkpoints", type=int, default=4, help="checkpoints besides the base")
    parser.add_argument("--root", type=Path, default=None, help="paths.root_dir (default: temp)")
    parser.add_argument("--set", nargs="*", default=[], help="extra config overrides")
    parser.add_argument("--json", type=Path, default=None, help="write timings + scores here")
    parser.add_argument("--compare", type=Path, default=None, help="another run's --json")
    parser.add_argument("--out", type=Path, default=None, help="also write a Markdown record")
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose gdo runs")
    parser.add_argument(
        "--ranks", type=int, default=0, help="run under torchrun on N ranks (0: in this process)"
    )
    args = parser.parse_args()
    args.code = args.code.resolve()
    sys.path.insert(0, str(args.code))  # its package and its configs
    os.environ.setdefault("GDO_PROGRESS", "0")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root or Path(tmp)
        overrides = [
            f"paths.root_dir={root}", f"name={NAME}", f"world={args.world}",
            "model=tiny_qwen2vl", "eval=world", "logger=none", "run.force=[evaluate]",
            *args.set,
        ]  # fmt: skip
        cfg = compose(overrides, args.code)
        models = prepare(cfg, args.checkpoints)
        from gdo.evaluation.stage import load_benchmarks
        from gdo.evaluation.stage import run as evaluate

        questions = sum(len(df) for _, df, _ in load_benchmarks(cfg).values())
        if args.ranks:
            result = under_torchrun(args, overrides, cfg, questions, models)
            print(
                f"world={args.world}, {args.ranks} ranks: {questions} questions x {models} models"
                f" in {result['wall_s']} s wall ({result['cpu_s']} s CPU, all ranks, imports "
                f"included): {result['questions_per_s']} questions/s, load {result['load_avg']}"
            )
            if args.json:
                args.json.write_text(json.dumps(result))
            if args.out:
                write_record(args.out, TITLE, result)
            return 0
        # Load the base model once untimed: transformers' lazy imports (seconds) are a
        # once-per-process cost, not throughput.
        from gdo.models import load_model
        from gdo.utils.stage import work_dir

        load_model(cfg.model, str(work_dir(cfg) / "base_model"))
        wall, cpu = time.perf_counter(), time.process_time()
        evaluate(cfg)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        result = {
            "overrides": overrides[3:],
            "questions": questions,
            "models": models,
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "questions_per_s": round(questions * models / wall, 1),
            "questions_per_cpu_s": round(questions * models / cpu, 1),
            "load_avg": [round(x, 1) for x in os.getloadavg()],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "scores": scores(cfg),
        }
    print(
        f"world={args.world}: {questions} questions x {models} models in {wall:.1f} s wall "
        f"({cpu:.1f} s CPU): {result['questions_per_s']} questions/s "
        f"({result['questions_per_cpu_s']} per CPU second), load {result['load_avg']}"
    )
    if args.compare:
        print(compare(result["scores"], json.loads(args.compare.read_text())["scores"]))
    if args.json:
        args.json.write_text(json.dumps(result))
    if args.out:
        write_record(args.out, TITLE, {k: v for k, v in result.items() if k != "scores"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
