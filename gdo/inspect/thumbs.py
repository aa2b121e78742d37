"""Thumbnail strips of a candidate's sampled frames, as PNG data URIs (the page is offline)."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Sequence

import numpy as np
from PIL import Image

log = logging.getLogger("gdo.inspect")


def png_data_uri(frame: np.ndarray, height: int) -> str:
    """One (H, W, 3) uint8 frame, scaled to ``height`` pixels high, as a data URI."""
    img = Image.fromarray(frame)
    if img.height != height:
        width = max(1, round(img.width * height / img.height))
        small = img.height < height  # tiny frames: keep the pixels sharp
        img = img.resize(
            (width, height), Image.Resampling.NEAREST if small else Image.Resampling.BILINEAR
        )
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def frame_strips(
    kinds: Sequence[str], media: Sequence[Sequence[str]], frames: int, height: int = 48
) -> tuple[list[list[str]], list[str]]:
    """Per media: its ``frames`` uniformly sampled frames as data URIs, and an error ("" if none).

    The frames are the ones the model would sample (``gdo.media.load_media``); a media
    that cannot be read gets no strip and its error, so the page still renders.
    """
    from gdo.media import load_media

    strips: list[list[str]] = []
    errors: list[str] = []
    for kind, paths in zip(kinds, media):
        if kind == "none" or paths is None or not len(paths):
            strips.append([])
            errors.append("")
            continue
        try:
            px = load_media(kind, list(paths), n_frames=frames, max_pixels=256 * 256)
            strips.append([png_data_uri(f, height) for f in px[:frames]])
            errors.append("")
        except Exception as err:  # noqa: BLE001 - the page names the error instead
            log.warning("inspect: no frames for %s: %s", list(paths)[:1], err)
            strips.append([])
            errors.append(f"{type(err).__name__}: {err}")
    return strips, errors
