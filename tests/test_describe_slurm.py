"""The SLURM-array recipe for describe (launch/describe_array.sbatch, describe_slurm.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from test_descriptors_helpers import make_pool

from gdo.utils.stage import work_dir

REPO = Path(__file__).resolve().parents[1]
ARRAY = REPO / "launch" / "describe_array.sbatch"
SUBMIT = REPO / "launch" / "describe_slurm.sh"


def bash(script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    return subprocess.run(
        ["bash", str(script), *args], env={**clean, **env}, capture_output=True, text=True
    )


def test_an_array_task_is_rank_task_id_of_the_array_size() -> None:
    env = {"GDO": "echo", "SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10",
           "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_CPUS_PER_TASK": "6"}  # fmt: skip
    out = bash(ARRAY, "model=qwen3vl_8b", "descriptors.workers=2", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "describe", "descriptors.shard.rank=2", "descriptors.shard.world_size=4",
        "descriptors.workers=5", "model=qwen3vl_8b", "descriptors.workers=2",
    ]  # fmt: skip
    missing = bash(ARRAY, env={"GDO": "echo"})
    assert missing.returncode != 0 and "sbatch --array" in missing.stderr
    stepped = bash(ARRAY, env={**env, "SLURM_ARRAY_TASK_STEP": "2"})
    assert stepped.returncode == 2 and "step" in stepped.stderr


def test_submit_runs_the_merge_after_the_whole_array(tmp_path) -> None:
    log = tmp_path / "sbatch.log"
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" "--" >> {log}\necho "4242;cluster"\n'
    )
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    out = bash(SUBMIT, "3", "model.path=/models/My Model", "pool=example_real", env=env)
    assert out.returncode == 0, out.stderr
    first, second, _ = log.read_text().split("--\n")
    assert first.splitlines() == [
        "--parsable", "--array=0-2", str(ARRAY), "model.path=/models/My Model", "pool=example_real"
    ]  # fmt: skip
    second = second.splitlines()
    assert "--dependency=afterok:4242" in second
    wrap = second[second.index("--wrap") + 1]
    assert wrap.split(" ", 3)[:3] == ["gdo", "describe", "merge"]
    assert "model.path=/models/My\\ Model pool=example_real" in wrap
    assert "array job 4242 (3 ranks)" in out.stdout


def test_two_array_tasks_then_merge_cover_the_pool(tmp_path) -> None:
    """The recipe's commands, run for real: two tasks, then the merge."""
    make_pool(work_dir_of(tmp_path), n=12, broken=False)
    overrides = [
        f"paths.root_dir={tmp_path}", "logger=none", "descriptors.specs.visual_dependency=null",
        "descriptors.specs.difficulty=null", "descriptors.specs.self_consistency=null",
        "descriptors.specs.coverage.k=2", "descriptors.specs.motion.size=32",
    ]  # fmt: skip
    env = {"GDO": f"{sys.executable} -m gdo", "SLURM_ARRAY_TASK_COUNT": "2",
           "SLURM_CPUS_PER_TASK": "1", "GDO_PROGRESS": "0", "OMP_NUM_THREADS": "1"}  # fmt: skip
    for task in ("0", "1"):
        out = bash(ARRAY, *overrides, env={**env, "SLURM_ARRAY_TASK_ID": task})
        assert out.returncode == 0, out.stderr[-2000:]
    merged = subprocess.run(
        [sys.executable, "-m", "gdo", "describe", "merge", *overrides],
        env={**os.environ, **env}, capture_output=True, text=True,
    )  # fmt: skip
    assert merged.returncode == 0, merged.stderr[-2000:]
    folder = work_dir_of(tmp_path) / "descriptors" / "shards"
    assert sorted(p.name for p in folder.glob("*/shard-*")) == [
        "shard-0-of-2.jsonl",
        "shard-1-of-2.jsonl",
    ]
    table = pd.read_parquet(work_dir_of(tmp_path) / "descriptors" / "descriptors.parquet")
    assert len(table) == 12 and (table.status == "ok").all()


def work_dir_of(root: Path) -> Path:
    from conftest import compose

    return work_dir(compose([f"paths.root_dir={root}"]))
