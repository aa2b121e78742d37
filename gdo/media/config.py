"""Schema of the ``media`` config node (how media files are decoded). Owned by gdo.media."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdo.media.backends import CHOICES, set_video_backend, video_backend
from gdo.utils.checks import check_choice


@dataclass
class MediaConf:
    """Media decoding shared by every stage."""

    # auto | decord | pyav | opencv. auto: decord when it imports (x86-64 Linux only),
    # else PyAV (`pip install 'gdo[video]'`), else OpenCV. Same frames and indices.
    video_backend: str = "auto"


def check_media(media: Any) -> None:
    """Refuse an unknown ``media.video_backend`` (:class:`ConfigError`)."""
    check_choice("media.video_backend", media.video_backend, CHOICES)


def apply_media(media: Any) -> str:
    """Make ``media.video_backend`` this process's (and its children's) video decoder;
    return the backend it resolves to (a :class:`ConfigError` when it is not installed)."""
    set_video_backend(str(media.video_backend))
    return video_backend()
