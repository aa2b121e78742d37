"""Run the vision tower once per media when several rows or passes share it.

``score_options`` scores every option of a question as its own row, and describe's loss
pass and SC prompts hold the same samples; without sharing, the vision tower would encode
the same clip once per option or per pass. transformers' Qwen2-VL / Qwen3-VL models accept
precomputed ``mm_encoder_outputs``, so each distinct media tensor is encoded once and its
features (and Qwen3-VL's deepstack features) are repeated for its rows.

It relies on transformers internals (the ``mm_encoder_outputs`` argument, the feature
methods' outputs): its entry ``vision_features`` in
:data:`gdo.models.fast.patch_guard.PATCHES` names the release it was written against, and
another release is refused.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from gdo.models.fast.patch_guard import check_patch
from gdo.models.inputs import Encoded

# modality -> (pixel key, grid key, feature method of the core model)
MODALITIES = {
    "image": ("pixel_values", "image_grid_thw", "get_image_features"),
    "video": ("pixel_values_videos", "video_grid_thw", "get_video_features"),
}


def supports_sharing(core: Any) -> bool:
    """Whether ``core`` (the model's ``.model``) accepts precomputed vision features."""
    return core is not None and "mm_encoder_outputs" in inspect.signature(core.forward).parameters


class FeatureCache:
    """Vision-tower features per encoded media tensor, kept while the cache lives.

    The loss pass and the generation prompts of the same rows carry the same processor
    outputs (``VLM.reuse_encodings``), so their pixel tensors are the same objects: each
    goes through the vision tower once, and later passes take its features from here.
    Entries keep their pixel tensor alive, so an ``id`` is never reused while cached.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], tuple[torch.Tensor, list, list | None]] = {}
        self._types: dict[str, type] = {}
        self.hits = 0
        self.misses = 0

    def encoder_outputs(self, core: Any, items: list[Encoded], to_device: Any) -> dict[str, Any]:
        """``mm_encoder_outputs`` for ``items`` (rows in order); media not seen yet go
        through the vision tower in one call per modality."""
        check_patch("vision_features")
        outputs: dict[str, Any] = {}
        for modality, (pixel_key, *_) in MODALITIES.items():
            with_media = [e.vision for e in items if pixel_key in e.vision]
            if not with_media:
                continue
            missing: dict[int, dict[str, torch.Tensor]] = {}
            for v in with_media:
                key = (modality, id(v[pixel_key]))
                entry = self._entries.get(key)
                if entry is None or entry[0] is not v[pixel_key]:
                    missing.setdefault(id(v[pixel_key]), v)
            self.hits += len(with_media) - len(missing)
            self.misses += len(missing)
            if missing:
                self._encode(core, modality, list(missing.values()), to_device)
            pooled: list[torch.Tensor] = []
            deep: list[list[torch.Tensor]] | None = None
            for v in with_media:
                _, rows, stack = self._entries[(modality, id(v[pixel_key]))]
                pooled += rows
                if stack is not None:
                    deep = deep or [[] for _ in stack]
                    for layer, parts in zip(deep, stack, strict=True):
                        layer += parts
            fields: dict[str, Any] = {"pooler_output": tuple(pooled)}
            if deep is not None:
                fields["deepstack_features"] = [tuple(layer) for layer in deep]
            outputs[modality] = self._types[modality](**fields)
        return outputs

    def into(
        self, batch: dict[str, Any], core: Any, items: list[Encoded], to_device: Any
    ) -> dict[str, Any]:
        """``batch`` with its pixels replaced by the features of ``items`` (its rows in
        order): ``mm_encoder_outputs`` from :meth:`encoder_outputs`."""
        batch.pop("pixel_values", None)
        batch.pop("pixel_values_videos", None)
        batch["mm_encoder_outputs"] = self.encoder_outputs(core, items, to_device)
        return batch

    def _encode(
        self, core: Any, modality: str, vision: list[dict[str, torch.Tensor]], to_device: Any
    ) -> None:
        pixel_key, grid_key, method = MODALITIES[modality]
        pixels = to_device({"p": torch.cat([v[pixel_key] for v in vision])})["p"]
        grids = torch.cat([v[grid_key] for v in vision]).to(pixels.device)
        feats = getattr(core, method)(pixels, grids, return_dict=True)
        stack = getattr(feats, "deepstack_features", None)
        start = 0
        for v in vision:
            span = range(start, start + len(v[grid_key]))
            start += len(v[grid_key])
            rows = [feats.pooler_output[j] for j in span]
            layers = None if stack is None else [[layer[j] for j in span] for layer in stack]
            self._entries[(modality, id(v[pixel_key]))] = (v[pixel_key], rows, layers)
        # Only the output's type is kept (not the tower's full hidden states).
        self._types.setdefault(modality, type(feats))
