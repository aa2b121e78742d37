"""Shared fixtures: offline environment, composed configs, a small generated world."""

from __future__ import annotations

import os

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("GDO_PROGRESS", "0")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from gdo.cli import conf_dir  # noqa: E402


def compose(overrides: list[str] | None = None, config_name: str = "config"):
    """Compose the real config tree the way ``gdo`` does (with the schemas registered)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import gdo.config  # noqa: F401

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        return hydra_compose(config_name=config_name, overrides=overrides or [])


@pytest.fixture
def cfg_factory(tmp_path: Path):
    """``cfg_factory(*overrides)``: the real config with outputs under tmp_path."""

    def make(*overrides: str):
        return compose([f"paths.root_dir={tmp_path}", *overrides])

    return make


def kill_once_written(proc, shard: Path, rows: int, timeout: float, poll: float = 0.1) -> int:
    """SIGKILL ``proc`` once its describe ``shard`` holds ``rows`` rows (or ``timeout``
    seconds have passed); returns the rows the shard holds after the kill."""
    import signal
    import time

    from gdo.descriptors.shards import read_shard

    deadline = time.time() + timeout
    while time.time() < deadline and (not shard.exists() or len(read_shard(shard).rows) < rows):
        time.sleep(poll)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return len(read_shard(shard).rows)


def write_video(path: Path, bgr: tuple[int, int, int], frames: int = 8) -> str:
    """A 32x32 mp4 (mp4v) of a square of colour ``bgr`` moving right; returns its path."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 4.0, (32, 32))
    for t in range(frames):
        img = np.zeros((32, 32, 3), np.uint8)
        img[8:20, 2 + t * 2 : 14 + t * 2] = bgr
        writer.write(img)
    writer.release()
    return str(path)
