"""The CPU default model: a random-init tiny Qwen2-VL with a local word-level tokenizer."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


def vocabulary_from_texts(texts: Iterable[str]) -> list[str]:
    """The word-level tokens of ``texts`` (in first-seen order) as the tiny tokenizer splits them."""
    raise NotImplementedError


def build_tiny(model_cfg: Any, out_dir: str | Path, vocabulary: list[str]) -> Path:
    """Build the tiny Qwen2-VL (sizes from ``model_cfg.tiny``) and ``save_pretrained`` it.

    Writes model, word-level tokenizer (``vocabulary`` + Qwen2-VL special tokens + the chat
    template's words), chat template and processor to ``out_dir``; returns ``out_dir``, which
    ``load_model(model_cfg, out_dir)`` loads back.
    """
    raise NotImplementedError
