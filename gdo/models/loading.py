"""``load_model``: processor + weights through ``from_pretrained`` (tiny and real alike)."""

from __future__ import annotations

from typing import Any

from gdo.models.device import resolve_attention, resolve_device, resolve_dtype
from gdo.models.fast import apply_patches
from gdo.models.video import FramesVideoProcessor, load_processor
from gdo.models.vlm import VLM
from gdo.utils.errors import ConfigError


def _limit_pixels(processor: Any, model_cfg: Any) -> None:
    """Apply ``model.max_pixels`` / ``model.min_pixels`` (per frame) to the processors.

    The stock minimum would otherwise upscale small frames (Qwen2-VL's video default is
    ~100k pixels). Qwen3-VL's video processor budgets the whole clip (t * h * w), so it gets
    ``max_pixels * frames``.
    """
    max_pixels = int(model_cfg.max_pixels)
    for part in (
        getattr(processor, "image_processor", None),
        getattr(processor, "video_processor", None),
    ):
        if part is None:
            continue
        if isinstance(part, FramesVideoProcessor):
            part.max_pixels = max_pixels
            part.min_pixels = min(int(model_cfg.min_pixels or part.min_pixels), max_pixels)
            continue
        limit = max_pixels
        if type(part).__name__.startswith("Qwen3VLVideoProcessor"):
            limit = max_pixels * int(model_cfg.frames)
        size = part.size
        shortest = size.get("shortest_edge") if hasattr(size, "get") else size.shortest_edge
        new = {
            "shortest_edge": min(int(model_cfg.min_pixels or shortest or limit), limit),
            "longest_edge": limit,
        }
        part.size = new if isinstance(size, dict) else type(size)(**new)


def load_model(model_cfg: Any, path: str | None = None, device: str | None = None) -> VLM:
    """Load processor and model from ``path`` (default ``model_cfg.path``): a folder or hub id.

    ``AutoProcessor`` (torchvision-free equivalent where torchvision is missing, see
    ``gdo.models.video``) and ``AutoModelForImageTextToText`` in ``model_cfg.dtype`` with
    ``model_cfg.attn_implementation``; the model is returned in eval mode on ``device``
    (default: ``model_cfg.device`` resolved for this rank, ``gdo.models.device``; ``auto``
    dtype and attention follow the device).
    The speed layer's patches are applied as the config's switches say
    (``gdo.models.fast.apply_patches``).
    """
    import torch
    from transformers import AutoModelForImageTextToText

    path = path or model_cfg.path
    if not path:
        raise ConfigError(
            f"model.path is null for model '{model_cfg.name}': pass a save_pretrained folder or "
            "a hub id (the tiny model is built by `gdo pretrain`)"
        )
    device = device or resolve_device(getattr(model_cfg, "device", "auto"))
    dtype = resolve_dtype(model_cfg.dtype, device)
    attention = resolve_attention(model_cfg.attn_implementation, device)
    processor = load_processor(path)
    _limit_pixels(processor, model_cfg)
    model = AutoModelForImageTextToText.from_pretrained(
        path, dtype=getattr(torch, dtype), attn_implementation=attention
    )
    model.to(device).eval()
    apply_patches(model, model_cfg)
    return VLM(model, processor, model_cfg, device, source=str(path))
