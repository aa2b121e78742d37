"""A random-init tiny Qwen3-VL goes through the same interface (Qwen3VLProcessor, timestamps)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gdo.models import load_model
from gdo.models.config import ModelConf
from gdo.models.tiny import QWEN2VL_CHAT_TEMPLATE, build_tokenizer
from gdo.models.video import FramesVideoProcessor

torch.set_num_threads(1)


def build_tiny_qwen3(out: Path) -> Path:
    """A Qwen3-VL folder in the hub layout, with the word-level tokenizer of the tiny model."""
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tokenizer = build_tokenizer(["red", "blue", "seconds", "<", ">"])
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "head_dim": 16, "pad_token_id": ids("<|endoftext|>"),
            "eos_token_id": ids("<|im_end|>"),
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                "mrope_section": [2, 3, 3], "mrope_interleaved": True},
        },
        vision_config={
            "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
            "patch_size": 4, "spatial_merge_size": 2, "temporal_patch_size": 2,
            "out_hidden_size": 64, "num_position_embeddings": 64, "deepstack_visual_indexes": [1],
        },
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )  # fmt: skip
    torch.manual_seed(0)
    Qwen3VLForConditionalGeneration(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    Qwen2VLImageProcessorPil(
        patch_size=4, merge_size=2, temporal_patch_size=2, min_pixels=1024, max_pixels=1024
    ).save_pretrained(out)
    video = FramesVideoProcessor(patch_size=4, min_pixels=1024, max_pixels=1024).to_dict()
    video.update(video_processor_type="Qwen3VLVideoProcessor", processor_class="Qwen3VLProcessor")
    (out / "video_preprocessor_config.json").write_text(json.dumps(video))
    (out / "processor_config.json").write_text(json.dumps({"processor_class": "Qwen3VLProcessor"}))
    (out / "chat_template.jinja").write_text(QWEN2VL_CHAT_TEMPLATE)
    return out


@pytest.fixture(scope="module")
def vlm(tmp_path_factory):
    folder = build_tiny_qwen3(tmp_path_factory.mktemp("q3"))
    return load_model(ModelConf(name="tiny_qwen3vl"), str(folder))


def samples() -> list[dict]:
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    image = rng.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    return [
        {"question": "red", "answer": "red", "media_kind": "video", "frames": clip,
         "duration_s": 8.0, "options": ["red", "blue"]},
        {"question": "red", "answer": "blue", "media_kind": "image", "frames": image,
         "options": ["red", "blue"]},
    ]  # fmt: skip


def test_qwen3vl_through_the_same_interface(vlm):
    assert type(vlm.model).__name__ == "Qwen3VLForConditionalGeneration"
    assert type(vlm.processor).__name__ == "Qwen3VLProcessor"
    batch = vlm.collate(samples())
    text = vlm.tokenizer.decode(batch["input_ids"][0])
    # 4 frames over 8 s: temporal patches centred at 1 s and 5 s.
    assert "< 1. 0 seconds >" in text and "< 5. 0 seconds >" in text
    np.testing.assert_allclose(
        vlm.loss(samples()), [vlm.loss([s])[0] for s in samples()], atol=1e-4
    )
    visual, blind = vlm.losses(samples())
    assert np.all(np.abs(visual - blind) > 1e-5)
    assert [len(x) for x in vlm.generate(samples(), max_new_tokens=2)] == [1, 1]
    shared = vlm.score_options(samples())
    assert [s.shape for s in shared] == [(2,), (2,)]
    vlm.share_vision = False  # deepstack features are shared too
    np.testing.assert_allclose(np.stack(shared), np.stack(vlm.score_options(samples())), atol=1e-5)
    vlm.share_vision = True


def test_qwen3vl_batched_processing_and_prefill_once(vlm):
    """One processor call for the batch (timestamps included) splits back into each
    sample's own call; sampling from one prefill equals HF's n prefills (M-RoPE offsets)."""
    enc = vlm.encoder
    items = [(s, *enc.media(s)) for s in samples()] + [(s, None, None) for s in samples()]
    with vlm.reuse_encodings():
        enc.prefetch(items)
        for s, kind, frames in items:
            prompt = enc._prompt(s, kind, frames)
            duration = s.get("duration_s")
            got = enc._memo[enc._memo_key(prompt, kind, frames, duration)][1]
            want = enc._process(prompt, kind, frames, duration)
            for key, value in got.items():
                if key == "rope_positions":
                    continue
                torch.testing.assert_close(value, want[key], rtol=0, atol=0)
    kw = {"n": 3, "temperature": 1.0, "max_new_tokens": 4, "seed": 2}
    once = vlm.generate(samples(), **kw)
    # The loss pass's vision features (deepstack too) serve the prefill: same answers.
    rows = samples()  # the same frames arrays for both passes
    with vlm.reuse_encodings():
        losses = vlm.losses(rows)
        assert vlm.generate(rows, **kw) == once
        assert vlm._features.hits == vlm._features.misses == 2
    np.testing.assert_allclose(losses, vlm.losses(samples()), atol=1e-5)
    vlm.prefill_once = False
    try:
        assert vlm.generate(samples(), **kw) == once
    finally:
        vlm.prefill_once = True


def test_qwen3vl_prepared_encodings_and_rope_positions(vlm, monkeypatch):
    """Encodings and M-RoPE positions made ahead (timestamps split the video's grids) give
    transformers' positions and the same losses and samples, without its rope loop."""
    from gdo.models.fast.positions import assemble
    from gdo.models.inputs import pad_batch

    core = vlm.model.model
    real = type(core).get_rope_index
    kw = {"n": 3, "temperature": 1.0, "max_new_tokens": 4, "seed": 2}
    rows = samples()
    with vlm.reuse_encodings():
        plain = vlm.losses(rows), vlm.generate(rows, **kw)
    made = vlm.prepare_encodings(rows)
    with vlm.reuse_encodings(made):
        items = vlm._encode_all([(i, s, False, s["answer"], False) for i, s in enumerate(rows)])
    assert all(e.positions is not None for e in items)
    for side in ("left", "right"):
        batch = pad_batch(items, vlm.pad_id, side)
        want = real(core, batch["input_ids"], mm_token_type_ids=batch["mm_token_type_ids"],
                    attention_mask=batch["attention_mask"],
                    image_grid_thw=batch["image_grid_thw"], video_grid_thw=batch["video_grid_thw"])  # fmt: skip
        got = assemble(items, batch["input_ids"], batch["attention_mask"])
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    calls = []
    monkeypatch.setattr(
        type(core), "get_rope_index", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    with vlm.reuse_encodings(made):
        got = vlm.losses(rows), vlm.generate(rows, **kw)
    assert calls == []
    np.testing.assert_array_equal(got[0][0], plain[0][0])
    assert got[1] == plain[1]
