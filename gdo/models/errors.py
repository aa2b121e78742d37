"""Errors of the model layer."""

from __future__ import annotations

from gdo.utils.errors import GdoError


class SampleTooLong(GdoError):
    """A sample whose prompt + answer exceeds ``model.max_length`` even with the fewest frames.

    ``index`` is the sample's position in the batch the caller passed (None for a single
    sample); ``n_tokens`` the length it reached, ``max_length`` the limit. Callers count and
    skip it (it is never dropped silently).
    """

    def __init__(
        self, n_tokens: int, max_length: int, index: int | None = None, uid: str | None = None
    ) -> None:
        self.n_tokens, self.max_length, self.index, self.uid = n_tokens, max_length, index, uid
        # Batch methods list every too-long position here, so callers drop them in one go.
        self.indices: list[int] = [] if index is None else [index]
        where = f"sample {index}" if index is not None else "sample"
        if uid:
            where += f" (uid {uid})"
        super().__init__(
            f"{where}: {n_tokens} tokens with the fewest frames, expected at most "
            f"{max_length} (model.max_length)"
        )
