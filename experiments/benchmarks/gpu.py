"""GPU benchmark: describe, evaluate and a ZeRO-3 training step of a full-size Qwen-VL.

    python experiments/benchmarks/gpu.py                                  # Qwen2-VL-2B, all parts
    python experiments/benchmarks/gpu.py --model qwen3vl_8b --parts describe evaluate
    torchrun --nproc_per_node 8 experiments/benchmarks/gpu.py --model qwen3vl_8b --parts train

The model is randomly initialised from a config with the published architecture sizes
of Qwen2-VL-2B-Instruct / Qwen3-VL-8B-Instruct (``ARCH``; nothing is downloaded), with
gdo's word-level tokenizer (token ids inside the real vocabulary size). Samples are
synthetic videos at the paper's settings: ``--frames`` 32 frames of 224x224 pixels
(``model.max_pixels`` 50176), a ~30-word question, a ~12-word answer, 4 options. Timed
through gdo's own model interface (``gdo.models.VLM``), as the stages call it:

- describe: ``losses`` (visual + blind loss passes) then ``generate`` of the
  self-consistency answers (n=5, temperature 0.8, top-p 0.9, 32 new tokens), in one
  ``reuse_encodings`` block: samples/s.
- evaluate: greedy ``generate`` (16 new tokens, ``eval=paper``) and ``score_options``
  (``eval=world``'s likelihood mode): questions/s.
- train: steps of DeepSpeed ZeRO-3 (bf16, gradient checkpointing, AdamW, batch
  ``--train-batch`` per GPU) on ``VLM.collate`` batches: seconds per step, tokens/s per
  GPU and MFU = model FLOPs (``train_flops``) / (step time x peak bf16 FLOP/s of the GPU,
  ``PEAK_TFLOPS``; ``--peak-tflops`` for other kinds).

A random model never ends an answer early: every generation runs its full new-token
budget (the slowest case). Rank 0 writes ``--out`` (Markdown) and the same stem ``.json``.
Needs CUDA: without it the script says so in one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PARTS = ("describe", "evaluate", "train")
VOCABULARY = (
    "what which how many does the a an of in on at to is are was were after before then "
    "first last red blue green yellow circle square triangle moves left right up down "
    "appears disappears video clip frame object colour shape count seconds < > ."
).split()

# Published architecture sizes (the checkpoints' config.json), as transformers' configs.
ARCH: dict[str, dict[str, Any]] = {
    "qwen2vl_2b": {
        "family": "qwen2_vl",
        "text": {
            "vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960,
            "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
            "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0,
                                "mrope_section": [16, 24, 24]},
        },
        "vision": {
            "depth": 32, "embed_dim": 1280, "hidden_size": 1536, "mlp_ratio": 4,
            "num_heads": 16, "patch_size": 14, "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        "tie_word_embeddings": True,
        "published_params": 2.21e9,
    },
    "qwen3vl_8b": {
        "family": "qwen3_vl",
        "text": {
            "vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 12288,
            "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8,
            "head_dim": 128, "max_position_embeddings": 262144, "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_type": "default", "rope_theta": 5000000.0,
                                "mrope_section": [24, 20, 20], "mrope_interleaved": True},
        },
        "vision": {
            "depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
            "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
            "out_hidden_size": 4096, "num_position_embeddings": 2304,
            "deepstack_visual_indexes": [8, 16, 24], "hidden_act": "gelu_pytorch_tanh",
        },
        "tie_word_embeddings": False,
        "published_params": 8.77e9,
    },
}  # fmt: skip

# Dense bf16 tensor-core peak per GPU (vendor data sheets, no sparsity), TFLOP/s. Matched
# against torch.cuda.get_device_name() in this order (the more specific name first).
PEAK_TFLOPS: tuple[tuple[str, float], ...] = (
    ("GH200", 989.4),
    ("H200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),  # SXM
    ("H800", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.1),
)

REFUSAL = "gpu.py: needs a CUDA GPU (torch.cuda.is_available() is False); nothing measured"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(ARCH), default="qwen2vl_2b")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--frames", type=int, default=32, help="frames per video (paper: 32)")
    ap.add_argument("--size", type=int, default=224, help="frame side in pixels")
    ap.add_argument("--samples", type=int, default=32, help="samples per timed describe/eval run")
    ap.add_argument(
        "--batch", type=int, default=8, help="samples per model call (model.batch_size)"
    )
    ap.add_argument(
        "--train-batch", type=int, default=1, help="samples per GPU per step (paper: 1)"
    )
    ap.add_argument("--steps", type=int, default=5, help="timed training steps (after 2 warm-up)")
    ap.add_argument("--attn", default="sdpa", help="attn_implementation (sdpa, flash_attention_2)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="peak bf16 TFLOP/s per GPU")
    ap.add_argument("--out", type=Path, default=HERE / "gpu.md", help="Markdown result (+ .json)")
    args = ap.parse_args(argv)
    for name in ("frames", "size", "samples", "batch", "train_batch", "steps"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def peak_tflops(device_name: str, override: float | None = None) -> float | None:
    """Peak dense bf16 TFLOP/s of a GPU by its name (``override`` wins); None if unknown."""
    if override is not None:
        return override
    for key, value in PEAK_TFLOPS:
        if key in device_name:
            return value
    return None


# ---------------------------------------------------------------- model FLOPs (MFU)


@dataclass(frozen=True)
class FlopModel:
    """What the FLOP count needs of a model: parameters by part and attention widths."""

    llm: int  # decoder layers + final norm (no embedding table: a lookup, not a matmul)
    lm_head: int  # vocab x hidden (counted even when tied to the embedding)
    vision: int  # vision tower blocks + patch embedding: applied to every patch
    merger: int  # patch merger(s): applied to every merge^2 patches
    layers: int
    attn_width: int  # num_attention_heads x head_dim
    vision_layers: int
    vision_width: int
    merge: int  # spatial_merge_size


def flop_model(model: Any) -> FlopModel:
    """Count ``model``'s parameters by part (works on the meta device)."""
    cfg = model.config
    text, vision = cfg.text_config, cfg.vision_config
    parts = {"llm": 0, "vision": 0, "merger": 0}
    for name, p in model.named_parameters():
        if "embed_tokens" in name or name.startswith("lm_head"):
            continue
        if "visual" in name:
            parts["merger" if "merger" in name else "vision"] += p.numel()
        else:
            parts["llm"] += p.numel()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    return FlopModel(
        **parts,
        lm_head=text.vocab_size * text.hidden_size,
        layers=text.num_hidden_layers,
        attn_width=text.num_attention_heads * head_dim,
        vision_layers=vision.depth,
        vision_width=getattr(vision, "embed_dim", None) or vision.hidden_size,
        merge=vision.spatial_merge_size,
    )


def train_flops(fm: FlopModel, seq_lens: list[int], grids: list[tuple[int, int, int]]) -> float:
    """Model FLOPs of one training step (forward + backward) over a batch.

    The PaLM convention (Chowdhery et al. 2022, app. B): 6 FLOPs per parameter per token
    for every matmul the token goes through, plus 12 x layers x attention width x the
    attended length per token for attention scores and values (no causal discount);
    gradient checkpointing's recomputation is not counted (MFU, not hardware FLOPs).
    The decoder sees ``seq_lens`` tokens per sample; the vision tower sees the patches
    of each media ``grids`` entry ``(t, h, w)`` and attends within each of its ``t``
    temporal slices of ``h x w`` patches (Qwen-VL's ``cu_seqlens``); the merger sees
    one token per ``merge^2`` patches.
    """
    total = 0.0
    for s in seq_lens:
        total += 6.0 * (fm.llm + fm.lm_head) * s + 12.0 * fm.layers * fm.attn_width * s * s
    for t, h, w in grids:
        patches = t * h * w
        total += 6.0 * fm.vision * patches + 6.0 * fm.merger * patches / fm.merge**2
        total += 12.0 * fm.vision_layers * fm.vision_width * t * (h * w) ** 2
    return total


# ---------------------------------------------------------------- model and samples


def build_config(name: str, tokenizer: Any) -> Any:
    """The transformers config of ``ARCH[name]`` with the tokenizer's special token ids."""
    from transformers import Qwen2VLConfig, Qwen3VLConfig

    from gdo.models import tiny

    arch = ARCH[name]
    ids = tokenizer.convert_tokens_to_ids
    text = {
        **arch["text"],
        "bos_token_id": ids(tiny.IM_START),
        "eos_token_id": ids(tiny.IM_END),
        "pad_token_id": ids(tiny.PAD),
    }
    cls = Qwen2VLConfig if arch["family"] == "qwen2_vl" else Qwen3VLConfig
    return cls(
        text_config=text,
        vision_config=dict(arch["vision"]),
        image_token_id=ids(tiny.IMAGE_PAD),
        video_token_id=ids(tiny.VIDEO_PAD),
        vision_start_token_id=ids(tiny.VISION_START),
        vision_end_token_id=ids(tiny.VISION_END),
        tie_word_embeddings=arch["tie_word_embeddings"],
    )


def model_conf(args: argparse.Namespace) -> Any:
    """``model.*`` as the stages would see it for this run."""
    from omegaconf import OmegaConf

    from gdo.models.config import ModelConf

    cfg = ModelConf(
        name=args.model, dtype="bfloat16", attn_implementation=args.attn, frames=args.frames,
        max_pixels=args.size * args.size, min_pixels=args.size * args.size, max_length=8192,
        min_frames=args.frames, batch_size=args.batch, fast_vision_attention=False,
    )  # fmt: skip
    return OmegaConf.structured(cfg)


def write_processor(name: str, tokenizer: Any, pixels: int, folder: Path) -> Path:
    """A processor folder in the hub layout (tokenizer, image + video processors)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    from gdo.models import tiny
    from gdo.models.video import VIDEO_CONFIG, FramesVideoProcessor

    vision = ARCH[name]["vision"]
    sizes = {
        "patch_size": vision["patch_size"],
        "merge_size": vision["spatial_merge_size"],
        "temporal_patch_size": vision["temporal_patch_size"],
        "min_pixels": pixels,
        "max_pixels": pixels,
    }
    tokenizer.save_pretrained(folder)
    Qwen2VLImageProcessorPil(**sizes).save_pretrained(folder)
    video = FramesVideoProcessor(**sizes).to_dict()
    processor = "Qwen2VLProcessor"
    if ARCH[name]["family"] == "qwen3_vl":
        processor = "Qwen3VLProcessor"
        video.update(video_processor_type="Qwen3VLVideoProcessor", processor_class=processor)
    (folder / VIDEO_CONFIG).write_text(json.dumps(video))
    (folder / "processor_config.json").write_text(json.dumps({"processor_class": processor}))
    (folder / "chat_template.jinja").write_text(tiny.QWEN2VL_CHAT_TEMPLATE)
    return folder


def build_vlm(args: argparse.Namespace, folder: Path, device: str) -> Any:
    """The random-init model on ``device`` in bf16, behind gdo's VLM interface."""
    import torch
    from transformers import AutoModelForImageTextToText

    from gdo.models import VLM
    from gdo.models.loading import _limit_pixels
    from gdo.models.tiny import build_tokenizer
    from gdo.models.video import load_processor

    cfg = model_conf(args)
    tokenizer = build_tokenizer(VOCABULARY)
    write_processor(args.model, tokenizer, int(cfg.max_pixels), folder)
    processor = load_processor(folder)
    _limit_pixels(processor, cfg)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(
            build_config(args.model, tokenizer), dtype=torch.bfloat16,
            attn_implementation=args.attn,
        )  # fmt: skip
    return VLM(model.eval(), processor, cfg, device, source=str(folder))


def make_samples(n: int, frames: int, size: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` synthetic video questions (random frames, words from ``VOCABULARY``)."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def words(k: int) -> str:
        return " ".join(rng.choice(VOCABULARY[:-3], k))

    return [
        {
            "uid": f"bench-{i}",
            "question": words(30) + " ?",
            "answer": words(12) + " .",
            "options": [words(3) for _ in range(4)],
            "media_kind": "video",
            "frames": rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8),
            "duration_s": float(frames),
        }
        for i in range(n)
    ]


# ---------------------------------------------------------------- the timed parts


def _timed(fn) -> float:
    """Wall seconds of ``fn()``, queued GPU work included."""
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else lambda: None
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def bench_describe(vlm: Any, samples: list[dict], sc: dict[str, Any]) -> dict[str, float]:
    """Describe's model work per sample: both loss passes + the SC answers."""

    def run(rows: list[dict]) -> None:
        with vlm.reuse_encodings():
            vlm.losses(rows)
            vlm.generate(rows, n=sc["n"], temperature=sc["temperature"], top_p=sc["top_p"],
                         max_new_tokens=sc["max_new_tokens"], seed=0)  # fmt: skip

    run(samples[: vlm.batch_size])  # warm-up: kernels, allocator
    seconds = _timed(lambda: run(samples))
    return {"samples": len(samples), "seconds": seconds, "samples_per_s": len(samples) / seconds}


def bench_evaluate(vlm: Any, samples: list[dict]) -> dict[str, float]:
    """Questions/s of the two evaluation modes."""
    out: dict[str, float] = {"questions": len(samples)}
    modes = {
        "generate": lambda rows: vlm.generate(rows, n=1, temperature=0.0, max_new_tokens=16),
        "likelihood": lambda rows: vlm.score_options(rows, target="both"),
    }
    for mode, fn in modes.items():
        fn(samples[: vlm.batch_size])
        seconds = _timed(lambda fn=fn: fn(samples))
        out[f"{mode}_seconds"] = seconds
        out[f"{mode}_questions_per_s"] = len(samples) / seconds
    return out


def zero3_config(batch: int) -> dict[str, Any]:
    """The DeepSpeed config of ``training=paper`` with concrete values (no Trainer)."""
    return {
        "train_micro_batch_size_per_gpu": batch,
        "gradient_accumulation_steps": 1,
        "gradient_clipping": 1.0,
        "bf16": {"enabled": True},
        "zero_optimization": {
            "stage": 3,
            "overlap_comm": True,
            "contiguous_gradients": True,
            "stage3_gather_16bit_weights_on_model_save": True,
        },
        "zero_allow_untested_optimizer": True,  # torch's fused AdamW: no op to compile
        "steps_per_print": 10**9,
    }


def bench_train(vlm: Any, samples: list[dict], args: argparse.Namespace) -> dict[str, float]:
    """ZeRO-3 steps on ``VLM.collate`` batches: step time, tokens/s per GPU, MFU."""
    import deepspeed
    import torch

    model = vlm.model.train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    fm = flop_model(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.01, fused=True)
    engine, *_ = deepspeed.initialize(
        model=model, optimizer=optimizer, config=zero3_config(args.train_batch)
    )
    world = torch.distributed.get_world_size()
    times, tokens, flops = [], [], []
    for step in range(2 + args.steps):
        start = (step * args.train_batch) % len(samples)
        rows = [samples[(start + i) % len(samples)] for i in range(args.train_batch)]
        batch = {k: v.to(engine.device) for k, v in vlm.collate(rows).items()}

        def one_step(batch: dict = batch) -> None:
            loss = engine(**batch).loss
            engine.backward(loss)
            engine.step()

        seconds = _timed(one_step)
        if step >= 2:  # two warm-up steps
            grids = [tuple(g) for g in batch["video_grid_thw"].tolist()]
            seq_lens = batch["attention_mask"].sum(dim=1).tolist()
            times.append(seconds)
            tokens.append(sum(seq_lens))
            flops.append(train_flops(fm, seq_lens, grids))
    step_s = statistics.median(times)
    tok = statistics.median(tokens)
    out = {
        "gpus": world,
        "batch_per_gpu": args.train_batch,
        "step_seconds": step_s,
        "tokens_per_step_per_gpu": tok,
        "tokens_per_s_per_gpu": tok / step_s,
        "model_tflop_per_step_per_gpu": statistics.median(flops) / 1e12,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
    }
    peak = peak_tflops(torch.cuda.get_device_name(), args.peak_tflops)
    out["peak_tflops"] = peak
    out["mfu"] = None if peak is None else out["model_tflop_per_step_per_gpu"] / (step_s * peak)
    return out


# ---------------------------------------------------------------- report


def markdown(info: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    """The result table (one row per measured figure) with the run's settings."""
    fmt = lambda v: "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = [
        f"# GPU benchmark: {info['model']} (random init, published sizes)",
        "",
        f"Command: `{info['command']}`",
        "",
        f"GPU: {info['gpus']} x {info['device']}; torch {info['torch']}, transformers "
        f"{info['transformers']}, CUDA {info['cuda']}; {info['frames']} frames of "
        f"{info['size']}x{info['size']}, {info['params'] / 1e9:.2f}B parameters; {info['date']}.",
        "",
        "| part | figure | value |",
        "|---|---|---|",
    ]
    for part, figures in results.items():
        lines += [f"| {part} | {key} | {fmt(value)} |" for key, value in figures.items()]
    lines += [
        "",
        "MFU: model FLOPs (6 x parameters x tokens + attention, PaLM convention, no "
        "recomputation) / (step time x the GPU's peak dense bf16 FLOP/s, `peak_tflops`).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print(REFUSAL, file=sys.stderr)
        return 2
    import transformers

    from gdo.training.args import _single_process_env

    _single_process_env()  # one process: the env torchrun would set
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    device = f"cuda:{local}"
    samples = make_samples(args.samples, args.frames, args.size)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="gdo-gpu-bench-") as tmp:
        vlm = build_vlm(args, Path(tmp), device)
        params = sum(p.numel() for p in vlm.model.parameters())
        if "describe" in args.parts:
            sc = {"n": 5, "temperature": 0.8, "top_p": 0.9, "max_new_tokens": 32}
            results["describe"] = bench_describe(vlm, samples, sc)
        if "evaluate" in args.parts:
            results["evaluate"] = bench_evaluate(vlm, samples)
        if "train" in args.parts:
            results["train"] = bench_train(vlm, samples, args)
    info = {
        "model": args.model,
        "command": " ".join(["python experiments/benchmarks/gpu.py", *sys.argv[1:]]),
        "device": torch.cuda.get_device_name(),
        "gpus": int(os.environ.get("WORLD_SIZE", "1")),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda,
        "frames": args.frames,
        "size": args.size,
        "params": params,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }
    text = markdown(info, results)
    print(text)
    if rank == 0:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        payload = {"info": info, "results": results}
        args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
