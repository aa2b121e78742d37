"""``load_model``: processor + weights through ``from_pretrained`` (tiny and real alike)."""

from __future__ import annotations

from typing import Any

from gdo.models.vlm import VLM


def load_model(model_cfg: Any, path: str | None = None, device: str = "cpu") -> VLM:
    """Load processor and model from ``path`` (default ``model_cfg.path``): a folder or hub id.

    Uses ``AutoProcessor`` / ``AutoModelForImageTextToText`` in ``model_cfg.dtype`` with
    ``model_cfg.attn_implementation``; returns the model in eval mode on ``device``.
    """
    raise NotImplementedError
