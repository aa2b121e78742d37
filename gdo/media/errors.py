"""``MediaError``: a media file that is missing, unreadable, corrupt or too short."""

from __future__ import annotations

import os

from gdo.utils.errors import InputError


class MediaError(InputError):
    """A media problem, naming the file and why: ``MediaError(path, reason)``.

    Subclass of :class:`gdo.utils.errors.InputError`, so callers that catch bad
    input in general also catch bad media; ``where`` can add the pool record.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        reason: str,
        where: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        super().__init__(file=self.path, where=where, field=field, reason=reason)
