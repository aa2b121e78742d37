"""The batched vision attention gives the stock module's logits and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gdo.models import build_tiny, load_model
from gdo.models.config import ModelConf
from gdo.models.fast.vision_attention import patch_vision_attention

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def vlm(tmp_path_factory):
    cfg = ModelConf(min_pixels=256, fast_vision_attention=True)  # 16x16 frames stay 16x16
    return load_model(cfg, str(build_tiny(cfg, tmp_path_factory.mktemp("m") / "m", ["red"])))


def samples() -> list[dict]:
    rng = np.random.default_rng(0)

    def frames(t, size):
        return rng.integers(0, 256, (t, size, size, 3), dtype=np.uint8)

    return [
        {"question": "red", "answer": "red", "media_kind": "video", "frames": frames(4, 32)},
        {"question": "red", "answer": "red", "media_kind": "image", "frames": frames(1, 32)},
        {"question": "red", "answer": "red", "media_kind": "video", "frames": frames(6, 16)},
        {"question": "red", "answer": "red", "media_kind": "none"},
    ]


def run(vlm, batch: dict, fast: bool) -> tuple[torch.Tensor, torch.Tensor]:
    assert patch_vision_attention(vlm.model, enabled=fast) == 2  # one per vision block
    vlm.model.zero_grad()
    out = vlm.model(**batch)
    out.loss.backward()
    return out.logits.detach(), vlm.model.model.visual.patch_embed.proj.weight.grad.clone()


@pytest.mark.parametrize("subset", [slice(0, 1), slice(0, 4)], ids=["equal_chunks", "mixed"])
def test_same_logits_and_gradients_as_stock(vlm, subset):
    batch = vlm.collate(samples()[subset])
    stock_logits, stock_grad = run(vlm, batch, fast=False)
    fast_logits, fast_grad = run(vlm, batch, fast=True)
    torch.testing.assert_close(fast_logits, stock_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast_grad, stock_grad, atol=1e-6, rtol=1e-4)
    assert "forward" in vars(vlm.model.model.visual.blocks[0].attn)  # the patch ran
