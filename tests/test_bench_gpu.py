"""experiments/benchmarks/gpu.py without a GPU: arguments, refusal, sizes, FLOPs, glue."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

SCRIPT = Path(__file__).resolve().parent.parent / "experiments" / "benchmarks" / "gpu.py"
_spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
gpu = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = gpu  # dataclasses look their module up there
_spec.loader.exec_module(gpu)

# A few-layer model of each family, for the CPU run of the describe / evaluate glue.
TOY = {
    "toy_qwen2vl": {
        "family": "qwen2_vl",
        "text": {
            "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                "mrope_section": [2, 3, 3]},
        },
        "vision": {
            "depth": 2, "embed_dim": 32, "hidden_size": 64, "mlp_ratio": 2, "num_heads": 2,
            "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
        },
        "tie_word_embeddings": True,
    },
    "toy_qwen3vl": {
        "family": "qwen3_vl",
        "text": {
            "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "head_dim": 16,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                "mrope_section": [2, 3, 3], "mrope_interleaved": True},
        },
        "vision": {
            "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
            "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
            "out_hidden_size": 64, "num_position_embeddings": 64,
            "deepstack_visual_indexes": [1],
        },
        "tie_word_embeddings": False,
    },
}  # fmt: skip


def test_refuses_without_cuda(monkeypatch, capsys) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.main(["--model", "qwen3vl_8b"]) == 2
    err = capsys.readouterr().err
    assert err == gpu.REFUSAL + "\n"


def test_arguments() -> None:
    args = gpu.parse_args([])
    assert (args.model, args.frames, args.size) == ("qwen2vl_2b", 32, 224)
    assert args.parts == ["describe", "evaluate", "train"] and args.train_batch == 1
    args = gpu.parse_args(["--model", "qwen3vl_8b", "--parts", "train", "--peak-tflops", "500"])
    assert (args.model, args.parts, args.peak_tflops) == ("qwen3vl_8b", ["train"], 500.0)
    for bad in (["--frames", "0"], ["--model", "qwen9"], ["--parts", "pretrain"]):
        with pytest.raises(SystemExit):
            gpu.parse_args(bad)


@pytest.mark.parametrize(
    "name, params", [("qwen2vl_2b", 2_208_985_600), ("qwen3vl_8b", 8_767_123_696)]
)
def test_published_sizes(name: str, params: int) -> None:
    """Built on the meta device (no memory): the parameter count of the real checkpoint."""
    from transformers import AutoModelForImageTextToText

    from gdo.models.tiny import build_tokenizer

    config = gpu.build_config(name, build_tokenizer(gpu.VOCABULARY))
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    assert sum(p.numel() for p in model.parameters()) == params
    fm = gpu.flop_model(model)
    # Every parameter is in one part, the (tied or not) embedding table aside.
    assert fm.llm + fm.lm_head + fm.vision + fm.merger == params - (
        0 if config.tie_word_embeddings else fm.lm_head
    )
    assert fm.layers == config.text_config.num_hidden_layers and fm.merge == 2


def test_train_flops_by_hand() -> None:
    fm = gpu.FlopModel(
        llm=10, lm_head=5, vision=7, merger=4, layers=2, attn_width=3,
        vision_layers=1, vision_width=2, merge=2,
    )  # fmt: skip
    # decoder: 6 x (10 + 5) x 4 tokens + 12 x 2 layers x 3 x 4^2
    decoder = 6 * 15 * 4 + 12 * 2 * 3 * 16
    # vision: 8 patches in 2 slices of 2x2: 6 x 7 x 8 + 6 x 4 x 8 / 4 + 12 x 1 x 2 x 2 x 4^2
    vision = 6 * 7 * 8 + 6 * 4 * 8 / 4 + 12 * 1 * 2 * 2 * 4**2
    assert gpu.train_flops(fm, [4], [(2, 2, 2)]) == decoder + vision
    assert gpu.train_flops(fm, [4, 4], [(2, 2, 2)] * 2) == 2 * (decoder + vision)


def test_peak_tflops_by_device_name() -> None:
    assert gpu.peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert gpu.peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert gpu.peak_tflops("NVIDIA H200") == 989.4
    assert gpu.peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert gpu.peak_tflops("Some Future GPU") is None
    assert gpu.peak_tflops("NVIDIA H200", override=123.0) == 123.0


@pytest.mark.parametrize("name", sorted(TOY))
def test_describe_and_evaluate_parts_run(monkeypatch, tmp_path: Path, name: str) -> None:
    """The timed calls run on CPU with a toy model of each family (the same glue)."""
    monkeypatch.setitem(gpu.ARCH, name, TOY[name])
    args = gpu.parse_args(["--model", name, "--frames", "4", "--size", "32", "--batch", "2"])
    vlm = gpu.build_vlm(args, tmp_path, "cpu")
    samples = gpu.make_samples(3, args.frames, args.size)
    sc = {"n": 2, "temperature": 0.8, "top_p": 0.9, "max_new_tokens": 3}
    describe = gpu.bench_describe(vlm, samples, sc)
    evaluate = gpu.bench_evaluate(vlm, samples)
    assert describe["samples"] == 3 and describe["samples_per_s"] > 0
    assert evaluate["generate_questions_per_s"] > 0 and evaluate["likelihood_questions_per_s"] > 0
    info = {
        "model": name, "command": "gpu.py", "device": "cpu", "gpus": 1, "torch": "x",
        "transformers": "y", "cuda": None, "frames": 4, "size": 32, "params": 1, "date": "now",
    }  # fmt: skip
    text = gpu.markdown(info, {"describe": describe, "evaluate": evaluate})
    assert (
        "| describe | samples_per_s |" in text and "| evaluate | generate_questions_per_s |" in text
    )
