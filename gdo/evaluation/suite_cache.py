"""Benchmark inputs made once per suite and reused by every checkpoint.

``gdo evaluate`` scores the same questions with every checkpoint of every goal. What the
model sees of a question does not depend on the weights: the sampled frames (decoded from
the video), the chat prompt, its tokens, pixel patches and M-RoPE positions. So a suite's
videos are decoded once (once per video file, however many questions share it), its
prompts are processed once (``VLM.prepare_encodings``), and each checkpoint only runs the
model. Results are those of decoding per checkpoint (the test suite checks it).

Everything stays in memory, so a suite is cached only while its estimated size fits
``eval.cache_mb`` (frames as uint8 plus their float32 pixel patches); larger suites (real
benchmarks at 32 frames) are decoded per checkpoint as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gdo.evaluation.predict import to_sample
from gdo.evaluation.time_control import transform

log = logging.getLogger(__name__)
# Bytes per frame pixel kept: the uint8 frame (3) and its float32 pixel patches (3 x 4).
BYTES_PER_PIXEL = 15


@dataclass
class SuiteInputs:
    """One suite's samples (row order; None where the video is missing) and the prompt
    encodings made for them, with the fingerprint of the processor that made them."""

    samples: list[dict[str, Any] | None]
    encodings: dict[tuple, Any] | None = None
    processor_key: str | None = None
    decode_errors: int = 0


@dataclass
class SuiteCache:
    """Per-suite inputs across checkpoints, within a memory budget of ``budget_mb``."""

    budget_mb: float
    # eval.time_control, applied to the frames as they are cached
    time_control: str = "none"
    suites: dict[str, SuiteInputs | None] = field(default_factory=dict)
    used_mb: float = 0.0
    # For the evaluation summary: suites cached, suites too large, processor passes.
    counts: dict[str, int] = field(
        default_factory=lambda: {"suites_cached": 0, "suites_uncached": 0, "encoded": 0}
    )

    def get(
        self, name: str, questions: pd.DataFrame, kind: str, vlm: Any, processor_key: str
    ) -> SuiteInputs | None:
        """The suite's cached inputs for ``vlm``, made on first use; None when the suite does
        not fit the budget (or ``vlm`` cannot load media, e.g. a test double)."""
        if name not in self.suites:
            self.suites[name] = self._decode(name, questions, kind, vlm)
        suite = self.suites[name]
        if suite is None:
            return None
        if suite.processor_key != processor_key and hasattr(vlm, "prepare_encodings"):
            # Once per suite, unless a checkpoint brings another processor.
            made = [s for s in suite.samples if s is not None and "frames" in s]
            suite.encodings = vlm.prepare_encodings(made, blind=False)
            suite.processor_key = processor_key
            self.counts["encoded"] += 1
        return suite

    def _decode(
        self, name: str, questions: pd.DataFrame, kind: str, vlm: Any
    ) -> SuiteInputs | None:
        if self.budget_mb <= 0 or not hasattr(vlm, "load_media"):
            return None
        missing = questions["video_missing"].to_numpy()
        media = {tuple(m) for m, gone in zip(questions["media"], missing, strict=True) if not gone}
        per_media = int(vlm.frames) * int(vlm.max_pixels) * BYTES_PER_PIXEL
        need_mb = len(media) * per_media / 2**20
        if self.used_mb + need_mb > self.budget_mb:
            log.info(
                "evaluate: %s not cached (~%.0f MB for %d videos; eval.cache_mb=%s, %.0f MB used)",
                name, need_mb, len(media), self.budget_mb, self.used_mb,
            )  # fmt: skip
            self.counts["suites_uncached"] += 1
            return None
        frames: dict[tuple, np.ndarray | None] = {}
        samples: list[dict[str, Any] | None] = []
        errors = 0
        for i in range(len(questions)):
            if missing[i]:
                samples.append(None)
                continue
            sample = to_sample(questions.iloc[i], kind)
            key = tuple(sample["media"])
            if key not in frames:
                try:
                    loaded = vlm.load_media(sample)
                    frames[key] = None if loaded is None else transform(loaded, self.time_control)
                except Exception:  # noqa: BLE001 - the model call raises it again, per question
                    frames[key] = None
                    errors += 1
            if frames[key] is not None:
                # One array per video: questions of a video share its frames (and patches).
                sample["frames"] = frames[key]
            samples.append(sample)
        self.used_mb += need_mb
        self.counts["suites_cached"] += 1
        return SuiteInputs(samples=samples, decode_errors=errors)
