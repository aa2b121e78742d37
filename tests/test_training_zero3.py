"""DeepSpeed ZeRO-3 on 2 CPU ranks (torchrun, gloo): trains, saves full weights that
``from_pretrained`` loads, and a run killed mid-way resumes to the same final step.

Slow: two torchrun launches (~1 min each on 2 busy cores; the first DeepSpeed run on a
machine also compiles its shared-memory comm op once, a few minutes).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_training import build_base, write_subset

from gdo.training import checkpoints as ck
from gdo.training.trainer import read_metrics

pytestmark = pytest.mark.slow
TESTS = Path(__file__).resolve().parent

DRIVER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {tests!r})
    import torch
    torch.set_num_threads(1)
    from pathlib import Path
    from test_training import train_cfg, use_backend
    from gdo.training import trainer as tr
    from gdo.training.stage import run

    use_backend()
    crash_at = int(os.environ.get("CRASH_AT", "0"))
    if crash_at:
        calls = {{"n": 0}}
        original = tr.GdoTrainer.training_step

        def step(self, *a, **kw):
            calls["n"] += 1
            if calls["n"] == crash_at:
                os._exit(3)  # a hard kill: no cleanup, no manifest
            return original(self, *a, **kw)

        tr.GdoTrainer.training_step = step
    tmp, base, subset = map(Path, sys.argv[1:4])
    run(train_cfg(tmp, base, subset, *sys.argv[4:]))
    """
)


def _torchrun(tmp: Path, base: Path, subset: Path, crash_at: int = 0) -> int:
    driver = tmp / "driver.py"
    driver.write_text(DRIVER.format(tests=str(TESTS)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CRASH_AT": str(crash_at), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_port", str(port), str(driver), str(tmp / "run"), str(base), str(subset),
        "training/deepspeed=zero3", "training.per_device_batch_size=4",
        "training.checkpoint.every_fraction=0.25",
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0 and not crash_at:
        print(proc.stdout[-4000:], proc.stderr[-4000:])
    return proc.returncode


def test_zero3_two_ranks_trains_saves_full_weights_and_resumes(tmp_path: Path) -> None:
    base = build_base(tmp_path / "base")
    subset = write_subset(tmp_path / "subset.parquet", n=48)
    # 48 rows x 2 epochs / (4 per rank x 2 ranks) = 12 steps; a quarter = 3 steps.
    assert _torchrun(tmp_path, base, subset, crash_at=8) != 0
    out = tmp_path / "run" / "outputs" / "default" / "train" / "temp_plus"
    assert [p.name for p in ck.list_checkpoints(out / "checkpoints")] == ["ckpt-24", "ckpt-48"]
    assert ck.has_resume_state(out / "checkpoints" / "ckpt-48")
    assert not (out / "manifest.json").exists()

    assert _torchrun(tmp_path, base, subset) == 0
    names = [p.name for p in ck.list_checkpoints(out / "checkpoints")]
    assert names == ["ckpt-24", "ckpt-48", "ckpt-72", "ckpt-96"]
    state = ck.read_state(out / "checkpoints" / "ckpt-96")
    assert (state["step"], state["world_size"], state["samples_per_step"]) == (12, 2, 8)

    # Full (gathered) weights: every tensor has the base model's shape, none is a
    # ZeRO-3 placeholder, and training moved them.
    from transformers import Qwen2VLForConditionalGeneration

    start = Qwen2VLForConditionalGeneration.from_pretrained(base)
    trained = Qwen2VLForConditionalGeneration.from_pretrained(out / "checkpoints" / "ckpt-96")
    a, b = dict(start.named_parameters()), dict(trained.named_parameters())
    assert a.keys() == b.keys()
    assert all(a[k].shape == b[k].shape and b[k].numel() > 0 for k in a)
    assert (a["lm_head.weight"] - b["lm_head.weight"]).abs().max().item() > 0
    losses = [r["loss"] for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3
