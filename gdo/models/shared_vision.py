"""Run the vision tower once per sample when several rows share its media.

``score_options`` scores every option of a question as its own row; without sharing, the
vision tower would encode the same clip once per option. transformers' Qwen2-VL / Qwen3-VL
models accept precomputed ``mm_encoder_outputs``, so each distinct sample's media is encoded
once and its features (and Qwen3-VL's deepstack features) are repeated for its rows.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import torch

from gdo.models.inputs import Encoded

# modality -> (pixel key, grid key, feature method of the core model)
MODALITIES = {
    "image": ("pixel_values", "image_grid_thw", "get_image_features"),
    "video": ("pixel_values_videos", "video_grid_thw", "get_video_features"),
}


def supports_sharing(core: Any) -> bool:
    """Whether ``core`` (the model's ``.model``) accepts precomputed vision features."""
    return core is not None and "mm_encoder_outputs" in inspect.signature(core.forward).parameters


def shared_encoder_outputs(
    core: Any, items: list[Encoded], share: list[int], to_device: Any
) -> dict[str, Any]:
    """``mm_encoder_outputs`` for ``items`` where rows with the same ``share`` key have the
    same media: each key's media goes through the vision tower once."""
    first: dict[int, int] = {}
    for row, key in enumerate(share):
        first.setdefault(key, row)
    outputs: dict[str, Any] = {}
    for modality, (pixel_key, grid_key, method) in MODALITIES.items():
        keys = [k for k in first if pixel_key in items[first[k]].vision]
        if not keys:
            continue
        vision = [items[first[k]].vision for k in keys]
        pixels = to_device({"p": torch.cat([v[pixel_key] for v in vision])})["p"]
        grids = torch.cat([v[grid_key] for v in vision]).to(pixels.device)
        feats = getattr(core, method)(pixels, grids, return_dict=True)
        # Feature index range of each key (a sample may hold several images).
        spans, start = {}, 0
        for k, v in zip(keys, vision, strict=True):
            spans[k] = range(start, start + len(v[grid_key]))
            start += len(v[grid_key])
        order = [j for row, key in enumerate(share) if key in spans for j in spans[key]]
        rows = copy.copy(feats)
        rows.pooler_output = tuple(feats.pooler_output[j] for j in order)
        if getattr(feats, "deepstack_features", None) is not None:
            rows.deepstack_features = [
                tuple(layer[j] for j in order) for layer in feats.deepstack_features
            ]
        outputs[modality] = rows
    return outputs
