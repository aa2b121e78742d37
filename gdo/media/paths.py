"""Media paths: resolve a record's relative path against a media root, safely."""

from __future__ import annotations

import os
from pathlib import Path

from gdo.media.errors import MediaError

# File extensions of media, lower case: compare a path's suffix lower-cased (``.MP4`` is a
# video too). Every reader that tells videos, images and frame files apart uses these.
VIDEO_EXTS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif")


def is_video_file(name: str | os.PathLike) -> bool:
    """Whether ``name`` ends in a video extension (any case)."""
    return os.path.splitext(os.fspath(name))[1].lower() in VIDEO_EXTS


def is_image_file(name: str | os.PathLike) -> bool:
    """Whether ``name`` ends in an image extension (any case)."""
    return os.path.splitext(os.fspath(name))[1].lower() in IMAGE_EXTS


def resolve_media(
    path: str | os.PathLike, root: str | os.PathLike | None = None, allow_absolute: bool = False
) -> Path:
    """Absolute path of ``path``; with a ``root``, it must stay inside that root.

    With a root set, absolute paths and ``..`` escapes are refused with a
    :class:`MediaError`: a pool file must not be able to point the pipeline at
    arbitrary files of the machine. ``allow_absolute`` accepts an absolute path that
    lies inside the root (benchmark files sometimes carry those). The containment check
    is lexical (no symlink resolution) on purpose, because real media folders are often
    symlinks to shared storage and those must keep working.
    """
    text = os.fspath(path)
    if not text:
        raise MediaError(path, "empty media path")
    if root is None:
        return Path(os.path.abspath(os.path.expanduser(text)))
    base = os.path.abspath(os.path.expanduser(os.fspath(root)))
    if os.path.isabs(text) or text.startswith("~"):
        if not allow_absolute:
            raise MediaError(path, f"absolute path refused: media paths must be relative to {root}")
        text = os.path.expanduser(text)
    full = os.path.normpath(os.path.join(base, text))
    if full != base and not full.startswith(base.rstrip(os.sep) + os.sep):
        raise MediaError(path, f"path escapes the media root {base}")
    return Path(full)
