"""experiments/benchmarks/describe.py on a fresh root: it names or makes what it needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "experiments" / "benchmarks" / "describe.py"


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GDO_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_without_inputs_it_names_the_command_in_one_line(tmp_path) -> None:
    out = bench("--no-prepare", cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and "`gdo world paths.root_dir=" in lines[0] and "world=demo" in lines[0]
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_it_builds_its_inputs_and_writes_its_result(tmp_path) -> None:
    """A small world, its pool and a random tiny model (--model): media-only arms."""
    from omegaconf import OmegaConf

    from gdo.models import build_tiny
    from gdo.models.config import ModelConf
    from gdo.world import vocabulary

    model = build_tiny(OmegaConf.structured(ModelConf()), tmp_path / "model", vocabulary())
    out = bench(
        "--world", "small", "--model", str(model), "--n", "60", "--modes", "media",
        "--workers", "1", "0", "--out", str(tmp_path / "result.md"), cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "running `gdo world" in out.stdout and "running `gdo pool" in out.stdout
    text = (tmp_path / "result.md").read_text()
    assert "| media | workers=1 |" in text and "| media | workers=0 |" in text
    assert "| media | workers=0 | 1/1 | 0 |" in text  # bit-identical to workers=1
