"""Time controls: the benchmark clips as given, reversed in time, or frozen on one frame.

A model that answers a temporal question from time ("what colour appears last?") gives
another answer when the clip plays backwards, and a model that reads only one frame does
not care. ``eval.time_control`` evaluates the same questions on transformed clips; the
transform acts on the frames the model would see (after frame sampling), so a reversed
clip is exactly the sampled frames in the opposite order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CONTROLS = ("none", "reversed", "frozen")


def check(control: str) -> str:
    """``control`` if known, else a ConfigError naming ``eval.time_control``."""
    if control not in CONTROLS:
        from gdo.utils.errors import ConfigError

        raise ConfigError(f"eval.time_control: expected one of {CONTROLS}, got {control!r}")
    return control


def transform(frames: np.ndarray, control: str) -> np.ndarray:
    """``frames`` (T, H, W, 3) reversed in time, or its first frame repeated T times."""
    if control == "none" or frames is None or len(frames) < 2:
        return frames
    if control == "reversed":
        return np.ascontiguousarray(frames[::-1])
    return np.ascontiguousarray(np.repeat(frames[:1], len(frames), axis=0))


def apply(sample: dict[str, Any], vlm: Any, control: str) -> dict[str, Any]:
    """The sample with its frames under ``control`` (loaded here when not yet loaded).

    Images (one frame) are left as they are; a sample whose media fails to load is left
    as it is (the model call then reports the error for that question).
    """
    if control == "none" or sample.get("media_kind") in ("image", "none", None):
        return sample
    frames = sample.get("frames")
    if frames is None:
        try:
            frames = vlm.load_media(sample)
        except Exception:  # noqa: BLE001 - raised again, per question, by the model call
            return sample
    if frames is None:
        return sample
    return {**sample, "frames": transform(np.asarray(frames), control)}
