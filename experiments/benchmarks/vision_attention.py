"""Benchmark: the tiny model's forward (+ backward) with and without the batched vision attention.

    python experiments/benchmarks/vision_attention.py --batch 32 --frames 4 --repeats 5 \
        [--out vision_attention.md]

Stock vs batched (``gdo.models.fast.vision_attention``) vision attention, interleaved so that load
from other processes hits both alike; then ``score_options`` with the vision pass shared
across a question's options or repeated per option. Median seconds per call.
"""

from __future__ import annotations

import sys

# This folder holds a `select.py`, which would shadow the standard library's `select`
# when this script runs from here: drop the folder.
sys.path[:] = [p for p in sys.path if not p.endswith("experiments/benchmarks")]

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gdo.models.config import ModelConf  # noqa: E402
from gdo.models.fast.vision_attention import patch_vision_attention  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _time_pair(fn, repeats: int, model) -> tuple[float, float]:
    """Median seconds of ``fn`` with stock and batched attention, interleaved so that load
    from other processes hits both alike."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for step in range(repeats + 1):
        for fast in (False, True):
            patch_vision_attention(model, enabled=fast)
            start = time.perf_counter()
            fn()
            if step:  # the first round is a warm-up
                times[fast].append(time.perf_counter() - start)
    return float(np.median(times[False])), float(np.median(times[True]))


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print and return median seconds per step, stock vs batched vision attention."""
    from gdo.models import build_tiny, load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the figures as markdown here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = ModelConf(max_pixels=args.size * args.size, frames=args.frames)
    rng = np.random.default_rng(0)
    shape = (args.frames, args.size, args.size, 3)
    samples = [
        {"question": "red", "answer": "red", "frames": rng.integers(0, 256, shape, dtype=np.uint8)}
        for _ in range(args.batch)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        vlm = load_model(cfg, str(build_tiny(cfg, Path(tmp) / "m", ["red"])))
    batch = vlm.collate(samples)

    def forward() -> None:
        with torch.no_grad():
            vlm.model(**batch)

    def train_step() -> None:
        vlm.model.zero_grad()
        vlm.model(**batch).loss.backward()

    result = {}
    for name, fn in (("forward", forward), ("train_step", train_step)):
        stock, batched = _time_pair(fn, args.repeats, vlm.model)
        result[f"stock_{name}_s"], result[f"batched_{name}_s"] = stock, batched
    # score_options: 4 options per sample, the vision pass shared or repeated per option.
    patch_vision_attention(vlm.model, enabled=True)
    options = [{**s, "options": ["red", "blue", "green", "yellow"]} for s in samples]
    for share in (False, True):
        vlm.share_vision = share
        vlm.score_options(options)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            vlm.score_options(options)
            times.append(time.perf_counter() - start)
        result[f"score_options_{'shared' if share else 'repeated'}_s"] = float(np.median(times))
    lines = [f"{key}: {value * 1000:.1f} ms" for key, value in result.items()]
    lines.append(
        f"forward speed-up: {result['stock_forward_s'] / result['batched_forward_s']:.2f}x"
    )
    lines.append(
        f"train step speed-up: {result['stock_train_step_s'] / result['batched_train_step_s']:.2f}x"
    )
    print("\n".join(lines))
    if args.out is not None:
        args.out.write_text(_markdown(args, lines), encoding="utf-8")
    return result


def _markdown(args: argparse.Namespace, lines: list[str]) -> str:
    """The figures with the command, commit and machine they were measured with."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return "\n".join(
        [
            "# Vision attention: stock vs batched, tiny model",
            "",
            f"`python experiments/benchmarks/vision_attention.py --batch {args.batch} --frames "
            f"{args.frames} --size {args.size} --repeats {args.repeats} --threads "
            f"{args.threads}` at commit `{commit}`; {platform.machine()} {platform.system()}, "
            f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"{os.cpu_count()} CPUs (shared).",
            "",
            *(f"- {line}" for line in lines),
            "",
        ]
    )


if __name__ == "__main__":
    main()
