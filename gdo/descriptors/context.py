"""The per-batch context descriptors read their inputs through: rows, media, model passes.

A descriptor says what it computes from a row (``vds = loss_blind - loss_visual``); the
:class:`BatchContext` says where the inputs come from, and does so once per batch: each
clip's frames are decoded once (one decode for the media descriptors' frames and the
model's), the model's passes run once however many descriptors ask (VDS and PPL share one
loss pass), media work done ahead by describe's workers and encodings prepared on another
thread are taken as they come, and a failure is kept per row. None of that changes a value
(tests/test_descriptors.py, tests/test_descriptors_clips.py, tests/test_fast_prepared.py);
the model's own speed layer is ``gdo.models.fast``.

The entry point a model descriptor calls is one method per pass:
:meth:`BatchContext.answer_losses` (VDS, PPL), :meth:`BatchContext.map_batch` for
generation (SC, TNC's judge); a media descriptor calls :meth:`BatchContext.frames` or,
per clip, :meth:`BatchContext.clip_values`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Any, Protocol

import numpy as np

from gdo.descriptors.clips import media_key
from gdo.descriptors.failures import Failed, PreparedError, SampleError, error_reason

NAN = float("nan")


class PerClip(Protocol):
    """What :meth:`BatchContext.clip_values` needs of a ``per_clip`` descriptor
    (:class:`gdo.descriptors.base.Descriptor`)."""

    per_clip: bool

    def clip_value(self, ctx: BatchContext, i: int) -> Any: ...


class BatchContext:
    """One batch of candidate rows plus lazy, shared access to media and model passes.

    ``failed`` maps row index -> error reason; once a row failed, later descriptors
    skip it and its whole row is written with NaN descriptors. Rows with the same media
    (:func:`~gdo.descriptors.clips.media_key`: a clip's QA turns) share their frames,
    their model frames and the values of ``per_clip`` descriptors: each is loaded or
    computed once, for the clip's first row in the batch.
    """

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        model: Any = None,
        *,
        seed: int = 0,
        max_frames: int = 8,
        load_media: Callable[..., np.ndarray] | None = None,
    ) -> None:
        self.rows = list(rows)
        self.model = model
        self.seed = int(seed)
        self.max_frames = int(max_frames)
        self.failed: dict[int, str] = {}
        self.keys = [media_key(r) for r in self.rows]
        first: dict[Hashable, int] = {}
        # The row that loads and computes for its clip (itself without media).
        self._rep = [i if k is None else first.setdefault(k, i) for i, k in enumerate(self.keys)]
        self._load_media = load_media
        self._frames: dict[int, np.ndarray | None] = {}
        self._model_frames: dict[int, np.ndarray | None] = {}
        self._memo: dict[Any, dict[int, Any]] = {}
        self._once: dict[Any, dict[int, Any]] = {}
        # Processor outputs made ahead by ``prepare_encodings`` (``VLM.prepare_encodings``).
        self.encodings: dict[Any, Any] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def alive(self) -> list[int]:
        """Indices of rows that have not failed yet."""
        return [i for i in range(len(self.rows)) if i not in self.failed]

    def fail(self, i: int, exc: BaseException | str) -> None:
        """Mark row ``i`` failed (the first reason wins)."""
        if i not in self.failed:
            self.failed[i] = exc if isinstance(exc, str) else error_reason(exc)

    def _motion_count(self, row: dict[str, Any]) -> int:
        """Frames for the media descriptors: ``max_frames`` (1 for images), never more
        than the clip has (a repeated frame reads as "no motion")."""
        n = 1 if row.get("media_kind") == "image" else self.max_frames
        known = int(row.get("n_frames") or -1)
        return known if 1 < known < n else n

    def frames(self, i: int) -> np.ndarray | None:
        """Row ``i``'s frames, (T, H, W, 3) uint8 with T <= max_frames; None if no media.

        Loaded once per batch and shared by every media descriptor; raises on
        unreadable media (callers go through :meth:`map_rows`). A failed load is kept
        and raised again on the next call (media are deterministic). Rows of one clip
        share one load.
        """
        i = self._rep[i]
        if i not in self._frames:
            try:
                self._frames[i] = self._load_frames(i)
            except Exception as exc:  # noqa: BLE001 - kept, raised below
                self._frames[i] = _Raised(exc)
        return _unwrap(self._frames[i])

    def _load_frames(self, i: int) -> np.ndarray | None:
        row = self.rows[i]
        kind = row.get("media_kind", "none")
        paths = list(row.get("media") or [])
        if kind == "none" or not paths:
            return None
        n = self._motion_count(row)
        if self._decode_video_once(i, n):
            return _unwrap(self._frames[i])
        loader = self._load_media or _default_load_media
        return self._checked(np.asarray(loader(kind, paths, n, None)))

    @staticmethod
    def _checked(arr: np.ndarray) -> np.ndarray:
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise SampleError(f"media gave shape {arr.shape}, expected (T, H, W, 3)")
        return arr

    def _decode_video_once(self, i: int, n: int) -> bool:
        """A video row's media-descriptor frames and model frames from one decode.

        Both are uniform samples of the same clip (``n`` native frames, the model's
        ``frames`` within its pixel budget): the union of their frame indices is decoded
        once and each set is cut from it, equal to two ``load_media`` calls. Only with
        the default loader and a model that says how it loads media; False otherwise.
        """
        row = self.rows[i]
        n_model = getattr(self.model, "frames", None)
        paths = list(row.get("media") or [])
        if (
            self._load_media is not None
            or n_model is None
            or row.get("media_kind") != "video"
            or len(paths) != 1
            or i in self._model_frames
        ):
            return False
        try:
            from gdo.media.video import load_video_sets

            # One open and one decode for both frame sets.
            media, model = load_video_sets(
                str(paths[0]), [(n, None), (int(n_model), getattr(self.model, "max_pixels", None))]
            )
            self._frames[i] = self._checked(media)
        except Exception as exc:  # noqa: BLE001 - one decode: both uses fail alike
            self._frames[i] = self._model_frames[i] = _Raised(exc)
            return True
        self._model_frames[i] = model
        return True

    def model_rows(self, idx: list[int]) -> list[dict[str, Any]]:
        """Rows ``idx`` for a model call, their media decoded once per batch.

        The frames are loaded exactly as the model would load them itself (its frame
        count and pixel budget) and passed as ``frames``, so the loss pass and the
        generation passes do not decode the same clip again (nor the media
        descriptors': a video is decoded once for both, see :meth:`frames`).
        """
        if getattr(self.model, "frames", None) is None:
            return [self.rows[i] for i in idx]
        out = []
        for i in idx:
            row = self.rows[i]
            frames = self.model_frames(i)
            out.append(row if frames is None else {**row, "frames": frames})
        return out

    def model_frames(self, i: int) -> np.ndarray | None:
        """Row ``i``'s frames as the model loads them (kept, failures too; see frames);
        rows of one clip share one load."""
        i = self._rep[i]
        if i not in self._model_frames:
            try:
                frames = self._load_model_frames(i)
            except Exception as exc:  # noqa: BLE001 - kept, raised below
                frames = _Raised(exc)
            # A joint decode (_decode_video_once) may already have stored them.
            self._model_frames.setdefault(i, frames)
        return _unwrap(self._model_frames[i])

    def _load_model_frames(self, i: int) -> np.ndarray | None:
        row = self.rows[i]
        kind, paths = row.get("media_kind", "none"), list(row.get("media") or [])
        if kind in (None, "none") or not paths:
            return None
        if i not in self._frames and self._decode_video_once(i, self._motion_count(row)):
            return _unwrap(self._model_frames[i])
        loader = self._load_media or _default_load_media
        n, max_pixels = self.model.frames, getattr(self.model, "max_pixels", None)
        return loader(kind, [str(p) for p in paths], n, max_pixels)

    def _rows_with_model_frames(self) -> list[int]:
        """Rows whose frames the model loads without error (each loaded once, kept);
        none for a model that loads no frames itself."""
        if getattr(self.model, "frames", None) is None:
            return []
        ready = []
        for i in range(len(self.rows)):
            with contextlib.suppress(Exception):
                self.model_frames(i)
                ready.append(i)
        return ready

    def prepare_encodings(self) -> BatchContext:
        """The model inputs of every row whose frames are ready (chat template, tokens,
        pixel patches, rope positions: ``VLM.prepare_encodings``), kept in ``encodings``
        for the model's passes (``reuse_encodings(made)``). For a batch a model descriptor
        will run on; a model without the method is left alone."""
        make = getattr(self.model, "prepare_encodings", None)
        if not callable(make):
            return self
        ready = self._rows_with_model_frames()
        if ready:
            with contextlib.suppress(Exception):
                self.encodings = make(self.model_rows(ready))
        return self

    def once(self, key: Any, i: int, fn: Callable[[int], Any]) -> Any:
        """``fn(i)``, computed once per (key, row) and kept (a failure too: raised again).

        A ``per_clip`` descriptor as ``key`` computes once per clip: ``fn`` gets the
        clip's first row."""
        if getattr(key, "per_clip", False):
            i = self._rep[i]
        memo = self._once.setdefault(key, {})
        if i not in memo:
            try:
                memo[i] = fn(i)
            except Exception as exc:  # noqa: BLE001 - kept, raised below
                memo[i] = _Raised(exc)
        return _unwrap(memo[i])

    def clip_values(self, descriptor: PerClip) -> dict[int, Any]:
        """A ``per_clip`` descriptor's :meth:`Descriptor.clip_value` for each alive row:
        once per clip, or as given ahead (:meth:`give`); a row whose value failed is
        marked failed."""
        return self.map_once(descriptor, partial(descriptor.clip_value, self))

    def give(
        self, values: dict[Hashable, dict[Any, Any]], frames: dict[Hashable, Any]
    ) -> BatchContext:
        """Take media work done elsewhere (describe's media workers): ``values[clip]``
        maps a descriptor to its value and ``frames[clip]`` holds the model frames, each
        the thing itself or its :class:`Failed` (:func:`outcome`), for clips by
        :func:`~gdo.descriptors.clips.media_key`. Asked later, they are handed out as if
        computed here (a failure raised with the same reason)."""

        def kept(value: Any) -> Any:
            return _Raised(PreparedError(value.reason)) if isinstance(value, Failed) else value

        for i, key in enumerate(self.keys):
            if key is None or self._rep[i] != i:
                continue
            for descriptor, value in values.get(key, {}).items():
                self._once.setdefault(descriptor, {})[i] = kept(value)
            if key in frames:
                self._model_frames[i] = kept(frames[key])
        return self

    def map_once(self, key: Any, fn: Callable[[int], Any]) -> dict[int, Any]:
        """:meth:`map_rows` over :meth:`once`: values kept under ``key`` (computed before,
        or given by :meth:`give`) are taken, the rest computed now."""
        return self.map_rows(lambda i: self.once(key, i, fn))

    def map_rows(self, fn: Callable[[int], Any]) -> dict[int, Any]:
        """Apply ``fn`` to each alive row; a row whose call raises is marked failed."""
        out: dict[int, Any] = {}
        for i in self.alive():
            try:
                out[i] = fn(i)
            except Exception as exc:  # noqa: BLE001 - per-sample failures are data, not bugs
                self.fail(i, exc)
        return out

    def map_batch(
        self, key: Any, fn: Callable[[list[dict[str, Any]], list[int]], Sequence[Any]]
    ) -> dict[int, Any]:
        """Run ``fn(rows, indices)`` once over the alive rows and memoize it under ``key``.

        A failure that names its sample (``exc.index``, e.g. ``SampleTooLong``) fails that
        row and the rest is retried as a batch; any other failure retries each row alone,
        so only the bad rows fail.
        """
        if key not in self._memo:
            self._memo[key] = self._run_batch(fn)
        memo = self._memo[key]
        return {i: memo[i] for i in self.alive() if i in memo}

    def _run_batch(
        self, fn: Callable[[list[dict[str, Any]], list[int]], Sequence[Any]]
    ) -> dict[int, Any]:
        idx = self.alive()
        while idx:
            try:
                values = list(fn([self.rows[i] for i in idx], idx))
            except Exception as exc:  # noqa: BLE001 - per-sample failures are data, not bugs
                bad = getattr(exc, "index", None)
                if isinstance(bad, int) and 0 <= bad < len(idx) and len(idx) > 1:
                    self.fail(idx[bad], exc)
                    idx = [i for i in idx if i != idx[bad]]
                    continue
                return self._run_rows(fn, idx)
            if len(values) != len(idx):
                raise RuntimeError(f"batched call gave {len(values)} values for {len(idx)} rows")
            return dict(zip(idx, values))
        return {}

    def _run_rows(
        self, fn: Callable[[list[dict[str, Any]], list[int]], Sequence[Any]], idx: list[int]
    ) -> dict[int, Any]:
        memo: dict[int, Any] = {}
        for i in idx:
            try:
                memo[i] = list(fn([self.rows[i]], [i]))[0]
            except Exception as exc:  # noqa: BLE001
                self.fail(i, exc)
        return memo

    def answer_losses(self) -> tuple[list[float], list[float]]:
        """The answer's mean cross-entropy (nats) with the media (``loss_visual``) and
        without it (``loss_blind``), one value per row, NaN where the row failed.

        The one entry point of a loss descriptor (VDS, PPL): however many ask, the batch
        makes one call of ``VLM.losses`` on its alive rows, with each clip's frames decoded
        once and any encodings made ahead (:meth:`prepare_encodings`); how that call is
        fast (visual and blind rows in their own passes, vision features and M-RoPE
        positions made once) is ``gdo.models.fast``'s, and changes no value.
        """
        losses = self._losses()
        return (
            self.column({i: v for i, (v, _) in losses.items()}),
            self.column({i: b for i, (_, b) in losses.items()}),
        )

    def _losses(self) -> dict[int, tuple[float, float]]:
        """(loss_visual, loss_blind) per alive row, from one model call per batch."""
        if self.model is None:
            raise RuntimeError("a loss descriptor needs a model, but none was loaded")

        def run(_: list[dict[str, Any]], idx: list[int]) -> list[tuple[float, float]]:
            visual, blind = self.model.losses(self.model_rows(idx))
            return [(float(v), float(b)) for v, b in zip(visual, blind)]

        return self.map_batch("losses", run)

    def column(self, values: dict[int, float]) -> list[float]:
        """A full-length column from per-row values (NaN where missing or failed)."""
        return [
            float(values[i]) if i in values and i not in self.failed else NAN
            for i in range(len(self.rows))
        ]


class _Raised:
    """A kept failure (a load or a computation that raised), raised again when used."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Raised):
        raise value.exc
    return value


def _default_load_media(kind: str, paths: list[str], n_frames: int, max_pixels: Any) -> np.ndarray:
    from gdo.media import load_media

    return load_media(kind, paths, n_frames, max_pixels)
