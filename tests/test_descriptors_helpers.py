"""Shared helpers for the descriptor tests: a tiny pool on disk and a fake VLM.

The fake VLM follows the gdo.models interface (losses / generate) with values that
depend only on each sample, so batching, sharding and resuming must not change them.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from gdo.pool.schema import make_uid

VOCAB = ["red", "blue", "green", "left", "right", "up", "two", "one", "yes", "no"]


class TooLong(Exception):
    """Stands in for gdo.models.SampleTooLong (carries the batch index)."""

    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__(f"sample {index}: too long")


class FakeVLM:
    """Per-sample deterministic losses; sampling from torch's global RNG like HF generate."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, int]] = []

    def losses(self, samples: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(("losses", len(samples)))
        for i, s in enumerate(samples):
            if "TOOLONG" in s["question"]:
                raise TooLong(i)
        time.sleep(self.delay)
        blind = np.array([1.0 + 0.01 * len(s["question"]) for s in samples])
        seen = np.array([0.0 if s["media_kind"] == "none" else 0.8 for s in samples])
        return blind - seen, blind

    def generate(self, samples, n=1, temperature=0.0, top_p=1.0, max_new_tokens=32):
        import torch

        self.calls.append(("generate", len(samples)))
        out = []
        for s in samples:
            if temperature == 0.0:
                out.append(["Temporal" if "order" in s["question"] else "Static"] * n)
                continue
            # Easy questions (short) get stable answers, others random ones.
            k = 1 if len(s["question"]) < 25 else len(VOCAB)
            draws = torch.randint(0, k, (n, 3)).tolist()
            out.append([" ".join(VOCAB[j] for j in row) for row in draws])
        return out


def write_frames(folder: Path, moving: bool, n: int = 8, size: int = 32) -> list[str]:
    """PNG frames of a white square that moves 3 px per frame (or stays)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in range(n):
        img = np.zeros((size, size, 3), np.uint8)
        x = 4 + (3 * t if moving else 0)
        img[10:18, x : x + 8] = (255, 255, 255)
        p = folder / f"{t:03d}.png"
        cv2.imwrite(str(p), img)
        paths.append(str(p))
    return paths


def make_pool(work_dir: Path, n: int = 24, broken: bool = True) -> pd.DataFrame:
    """A pool.parquet of moving / static frame clips, images and text-only rows."""
    media_dir = work_dir.parent / "media"
    rows = []
    for i in range(n):
        kind = ("moving", "static", "image", "none")[i % 4]
        media: list[str] = []
        if kind in ("moving", "static"):
            media = write_frames(media_dir / f"clip{i}", moving=kind == "moving")
        elif kind == "image":
            media = write_frames(media_dir / f"img{i}", moving=False, n=1)
        q = f"what colour is shape {i}?" if i % 3 else f"in which order do shapes {i} appear?"
        rows.append(
            {
                "uid": make_uid("test", f"s{i}", 0),
                "sample_id": f"s{i}",
                "turn": 0,
                "source": "test",
                "file": "pool.json",
                "record": i,
                "bucket": "image" if kind in ("image", "none") else "short_video",
                "media_kind": {"moving": "frames", "static": "frames"}.get(kind, kind),
                "media": media,
                "video_id": "",
                "duration_s": float("nan"),
                "n_frames": len(media) if media else -1,
                "question": q,
                "answer": VOCAB[i % len(VOCAB)],
                "is_mcq": False,
                "options": [],
                "answer_letter": "",
            }
        )
    if broken:
        rows[1]["media"] = [str(media_dir / "missing" / "000.png")]
        rows[2]["question"] = "TOOLONG what colour?"
    df = pd.DataFrame(rows)
    (work_dir / "pool").mkdir(parents=True, exist_ok=True)
    df.to_parquet(work_dir / "pool" / "pool.parquet", index=False)
    return df


FAST = (
    "descriptors.model_path=fake",
    "descriptors.specs.motion.size=32",
    "descriptors.specs.self_consistency.n=3",
    "descriptors.specs.coverage.k=4",
    "descriptors.batch_size=4",
)


def shard_file(cfg, rank: int = 0, world: int = 1) -> Path:
    """Where ``gdo describe`` with ``cfg`` writes rank ``rank``'s shard (its config's
    keyed folder), known before the run starts."""
    from gdo.descriptors.registry import build
    from gdo.descriptors.shards import shard_dir, shard_path
    from gdo.descriptors.stage import sample_key
    from gdo.utils.stage import work_dir

    items = build(cfg.descriptors.specs)
    needs_model = any(it.enabled and it.descriptor.needs_model for it in items)
    folder = shard_dir(work_dir(cfg) / "descriptors", sample_key(cfg, items, needs_model))
    return shard_path(folder, rank, world)


class FramedVLM(FakeVLM):
    """A fake whose visual loss depends on the frames the runner hands it (the model's
    frames: a video decoded once for motion and the model, images loaded apart)."""

    frames, max_pixels = 4, 16 * 16

    def losses(self, samples):
        visual, blind = super().losses(samples)
        seen = [s.get("frames") for s in samples]
        return visual + [0.0 if f is None else float(f.mean()) / 1000 for f in seen], blind


def pool_with_videos(work: Path) -> pd.DataFrame:
    """make_pool's rows (a missing frame, a too-long question) plus two mp4 clips and a
    file that is no video: every media path and every kind of per-sample failure. Clips
    have several QA turns, as in real pools: video0 and the file that is no video three
    (questions of different lengths, so they sort into different batches), the first
    frame clip two."""
    import cv2

    pool = make_pool(work)
    rows = []
    for k, moving in enumerate((True, False, None)):
        path = work.parent / "media" / f"video{k}.mp4"
        if moving is None:
            path.write_bytes(b"not a video")
        else:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 4.0, (32, 32))
            for t in range(13):
                img = np.zeros((32, 32, 3), np.uint8)
                x = 1 + t if moving else 4
                img[8:20, x : x + 12] = (255, 64, 0)
                writer.write(img)
            writer.release()
        for turn in range(1 if moving is False else 3):
            row = pool.iloc[0].to_dict() | {
                "uid": f"video{k}" + (f"t{turn}" if turn else ""),
                "sample_id": f"video{k}",
                "turn": turn,
                "media_kind": "video",
                "media": [str(path)],
                "video_id": str(path),
                "n_frames": 13,
                "question": f"what colour is video {k}?" + " and then" * 4 * turn,
            }
            rows.append(row)
    again = pool.iloc[0].to_dict() | {"uid": "clip0t1", "turn": 1, "question": "and now?"}
    pool = pd.concat([pool, pd.DataFrame([*rows, again])], ignore_index=True)
    pool.to_parquet(work / "pool" / "pool.parquet", index=False)
    return pool
