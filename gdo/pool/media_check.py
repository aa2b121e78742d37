"""Media paths of pool records: fast resolution against a root, and stat/open checks."""

from __future__ import annotations

import os
import stat
from typing import Any

from gdo.media.errors import MediaError
from gdo.media.paths import resolve_media


class PathResolver:
    """Absolute media paths for one pool file, ``resolve_media`` rules, fast common case.

    With a ``media_root`` the path must stay inside it; without one, relative paths
    resolve against ``base`` (the pool file's folder) and nothing is refused.
    """

    def __init__(self, base: str, contained: bool) -> None:
        self.base = base
        self.contained = contained
        self.prefix = base.rstrip(os.sep) + os.sep

    def __call__(self, path: str) -> str:
        """The absolute path, or :class:`MediaError` for an escape / absolute path."""
        if (
            path[0] != "/"
            and ".." not in path
            and "./" not in path
            and "//" not in path
            and "~" not in path
            and "\\" not in path
        ):
            return self.prefix + path  # the common case: no normpath per record
        if self.contained:
            return str(resolve_media(path, self.base))
        return os.path.normpath(os.path.join(self.base, os.path.expanduser(path)))


def media_problem(path: str, kind: str, probe: bool, probe_cache: dict[str, Any]) -> str | None:
    """Why a media file cannot be used (None when it can): missing, not a regular file
    (a folder named ``x.mp4``), empty, corrupt.

    ``probe`` opens the file (media.video_backend for videos, PIL for images); a probed video's
    :class:`VideoInfo` is stored in ``probe_cache`` so durations reuse it.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot stat ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a folder)" if stat.S_ISDIR(st.st_mode) else "not a regular file"
    if st.st_size == 0:
        return "zero-length file"
    if not probe:
        return None
    try:
        if kind == "video":
            from gdo.media.video import probe_video

            probe_cache[path] = probe_video(path)
        else:
            from gdo.media.image import load_image

            load_image(path)
    except MediaError as exc:
        return exc.reason
    return None
