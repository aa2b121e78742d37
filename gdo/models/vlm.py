"""``VLM``: loss, blind loss, generation, option scoring and training collation."""

from __future__ import annotations

from typing import Any

import numpy as np


class VLM:
    """A loaded VLM (processor + model) behind the interface described in ``gdo.models``."""

    def __init__(self, model: Any, processor: Any, model_cfg: Any, device: str = "cpu") -> None:
        self.model, self.processor, self.cfg, self.device = model, processor, model_cfg, device
        self.frames: int = int(model_cfg.frames)
        self.max_pixels: int = int(model_cfg.max_pixels)

    def prompt(self, sample: dict[str, Any], blind: bool = False) -> str:
        """The chat-templated prompt text (up to the assistant turn) of one sample."""
        raise NotImplementedError

    def collate(self, samples: list[dict[str, Any]], blind: bool = False) -> dict[str, Any]:
        """Training tensors: input_ids, attention_mask, labels (-100 except the answer tokens),
        and, unless blind, pixel_values(_videos), image/video_grid_thw, mm_token_type_ids."""
        raise NotImplementedError

    def loss(self, samples: list[dict[str, Any]], blind: bool = False) -> np.ndarray:
        """Per-sample mean cross-entropy (nats) over the answer tokens; shape (N,)."""
        raise NotImplementedError

    def losses(self, samples: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """(visual, blind) per-sample answer losses, both in one batched forward pass."""
        raise NotImplementedError

    def generate(
        self,
        samples: list[dict[str, Any]],
        n: int = 1,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_new_tokens: int = 32,
    ) -> list[list[str]]:
        """``n`` answers per sample (greedy when temperature == 0), left-padded batches."""
        raise NotImplementedError

    def score_options(
        self, samples: list[dict[str, Any]], target: str = "text"
    ) -> list[np.ndarray]:
        """Summed log-probability of each option as the answer, one array per sample."""
        raise NotImplementedError
