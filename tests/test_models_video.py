"""FramesVideoProcessor (torchvision-free video inputs) against transformers' stock code."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from gdo.models.video import FramesVideoProcessor, load_processor

torch.set_num_threads(1)
P, M, TP = 4, 2, 2  # the tiny model's patch, merge and temporal patch sizes


def image_processor(pixels: int = 1024):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    return Qwen2VLImageProcessorPil(
        patch_size=P, merge_size=M, temporal_patch_size=TP, min_pixels=pixels, max_pixels=pixels
    )


def frames(t: int, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (t, size, size, 3), dtype=np.uint8)


def stock_video_patchify():
    """``Qwen2VLVideoProcessor.patchify`` from the installed transformers source.

    The module imports torchvision at the top, so the method is compiled on its own.
    """
    import transformers.models.qwen2_vl as pkg

    source = (Path(pkg.__file__).parent / "video_processing_qwen2_vl.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "Qwen2VLVideoProcessor":
            fn = next(n for n in node.body if getattr(n, "name", None) == "patchify")
            module = ast.Module(body=[fn], type_ignores=[])
            namespace: dict = {"torch": torch}
            exec(compile(module, "video_processing_qwen2_vl.py", "exec"), namespace)
            return namespace["patchify"]
    raise AssertionError("Qwen2VLVideoProcessor.patchify not found")


def test_equals_stock_video_patchify():
    clip = frames(6)
    proc = FramesVideoProcessor(patch_size=P, temporal_patch_size=TP, merge_size=M,
                                min_pixels=1024, max_pixels=1024)  # fmt: skip
    ours = proc([clip])
    x = (clip.astype(np.float32) / 255 - proc.image_mean) / proc.image_std
    videos = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())[None]  # B, T, C, H, W
    stock, gt, gh, gw = stock_video_patchify()(None, videos, P, M, TP)
    np.testing.assert_allclose(ours["pixel_values_videos"], stock[0].numpy(), atol=1e-6)
    assert ours["video_grid_thw"].tolist() == [[gt, gh, gw]] == [[3, 8, 8]]


@pytest.mark.parametrize("size", [32, 30])
def test_a_still_pair_equals_the_stock_image_processor(size):
    """Two identical frames are what the image processor makes of one image (on and off grid)."""
    image = frames(1, size)[0]
    stock = image_processor()(images=[image], return_tensors="np")
    ours = FramesVideoProcessor(patch_size=P, temporal_patch_size=TP, merge_size=M,
                                min_pixels=1024, max_pixels=1024)([np.stack([image, image])])  # fmt: skip
    assert ours["video_grid_thw"].tolist() == [[1, *stock["image_grid_thw"][0, 1:].tolist()]]
    np.testing.assert_allclose(ours["pixel_values_videos"], stock["pixel_values"], atol=1e-5)


def test_frame_order_and_odd_frame_counts():
    clip = frames(3)
    proc = FramesVideoProcessor(patch_size=P, temporal_patch_size=TP, merge_size=M,
                                min_pixels=1024, max_pixels=1024)  # fmt: skip
    out = proc([clip])
    assert out["video_grid_thw"].tolist() == [[2, 8, 8]]  # 3 frames padded to 4
    pv = out["pixel_values_videos"].reshape(2, 64, 3, TP, P, P)
    single = [image_processor()(images=[f], return_tensors="np")["pixel_values"] for f in clip]
    single = [s.reshape(64, 3, TP, P, P)[:, :, 0] for s in single]
    np.testing.assert_allclose(pv[0, :, :, 0], single[0], atol=1e-6)  # slot 0 = frame 0
    np.testing.assert_allclose(pv[0, :, :, 1], single[1], atol=1e-6)
    np.testing.assert_allclose(pv[1, :, :, 0], single[2], atol=1e-6)
    np.testing.assert_allclose(pv[1, :, :, 1], single[2], atol=1e-6)  # last frame repeated


def test_config_round_trip():
    proc = FramesVideoProcessor(patch_size=8, temporal_patch_size=2, merge_size=2,
                                min_pixels=256, max_pixels=4096)  # fmt: skip
    again = FramesVideoProcessor.from_config(proc.to_dict())
    assert vars(again).keys() == vars(proc).keys()
    assert (again.patch_size, again.min_pixels, again.max_pixels) == (8, 256, 4096)
    assert proc.to_dict()["video_processor_type"] == "Qwen2VLVideoProcessor"


def test_processor_expands_video_tokens(tmp_path):
    from transformers.utils import is_torchvision_available

    from gdo.models import build_tiny
    from gdo.models.config import ModelConf

    folder = build_tiny(ModelConf(), tmp_path / "m", ["red"])
    proc = load_processor(folder)
    if not is_torchvision_available():
        assert isinstance(proc.video_processor, FramesVideoProcessor)
    text = "<|vision_start|><|video_pad|><|vision_end|>red"
    out = proc(text=[text], videos=[frames(4)], return_tensors="pt")
    # 2 temporal patches x 8x8 patches / merge 2x2 = 32 video tokens, typed 2.
    assert int((out["mm_token_type_ids"] == 2).sum()) == 32
    assert out["video_grid_thw"].tolist() == [[2, 8, 8]]
