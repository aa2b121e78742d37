"""Benchmark: sampling frames with each video backend (decord, PyAV, OpenCV).

Two inputs: the clips of a world (``--world``, e.g. outputs/world/small: 12-15 frames of
32x32 each) and a longer clip this script writes with PyAV (``--long-frames`` frames at
25 fps, 320x240, H.264 with a keyframe every 250 frames and B-frames, as downloaded
videos usually are). Each backend samples ``--frames`` frames uniformly
(``gdo.media.load_video``, one decoder thread) from every clip, ``--repeat`` times; the
table gives milliseconds per clip (median over repeats) and whether its frames equal
decord's (max absolute pixel difference).

    python experiments/benchmarks/video_backends.py --world outputs/world/small \
        --out experiments/benchmarks/video_backends.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def write_long_clip(path: Path, n: int) -> Path:
    """An H.264 clip of ``n`` frames whose content changes every frame."""
    import av

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.gop_size = 250
        stream.codec_context.max_b_frames = 2
        for i in range(n):
            img = np.roll(base, shift=i, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def time_backend(backend: str, clips: list[Path], frames: int, repeat: int) -> tuple:
    """(median ms per clip, the frames of every clip) for one backend."""
    from gdo.media import load_video
    from gdo.media.backends import ENV

    os.environ[ENV] = backend
    runs, out = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = [load_video(c, frames) for c in clips]
        runs.append((time.perf_counter() - t0) * 1000 / len(clips))
    return statistics.median(runs), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, required=True, help="a world folder (gdo world)")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--long-frames", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    from gdo.media.backends import BACKENDS, available

    backends = [b for b in BACKENDS if available(b)]
    world = sorted(args.world.rglob("*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        long = write_long_clip(Path(tmp) / "long.mp4", args.long_frames)
        sets = {
            f"world clips ({len(world)})": world,
            f"long clip ({args.long_frames} frames)": [long],
        }
        rows = []
        for name, clips in sets.items():
            ref = None
            for b in backends:
                ms, frames = time_backend(b, clips, args.frames, args.repeat)
                if ref is None:
                    ref = frames
                diff = max(
                    int(np.abs(a.astype(int) - f.astype(int)).max()) for a, f in zip(ref, frames)
                )
                rows.append(f"| {name} | {b} | {ms:.1f} | {diff} |")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Video backends: milliseconds per clip to sample frames",
        "",
        f"`python experiments/benchmarks/video_backends.py --world {args.world} --frames "
        f"{args.frames} --long-frames {args.long_frames} --repeat {args.repeat}` at commit "
        f"`{commit}`; {platform.machine()} {platform.system()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (shared), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}.",
        "",
        f"Each clip: `load_video(clip, {args.frames})` (uniform indices, one decoder thread); "
        f"median of {args.repeat} passes. `max diff`: largest pixel difference from the "
        f"first backend's frames ({backends[0]}).",
        "",
        "| clips | backend | ms / clip | max diff |",
        "|---|---|---|---|",
        *rows,
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
