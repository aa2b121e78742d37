"""What a descriptor is, the registry by name, and the per-batch context they share.

A descriptor is one class in one file, registered by name with ``@register``, and one
config node under ``descriptors.items`` (``_target_`` + options). It may work per
sample (``describe``: during ``gdo describe``, on one batch at a time) and/or per pool
(``describe_pool``: during ``gdo describe merge``, on the joined table).

Descriptors never load media or run the model themselves: they ask the
:class:`BatchContext`, which loads each candidate's frames once and runs each model
pass once per batch (VDS and PPL share one loss pass), and which isolates
per-sample failures so one unreadable video never sinks its batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

REGISTRY: dict[str, type[Descriptor]] = {}

NAN = float("nan")


def register(name: str) -> Callable[[type[Descriptor]], type[Descriptor]]:
    """Class decorator: make a descriptor findable by its config name."""

    def deco(cls: type[Descriptor]) -> type[Descriptor]:
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return deco


class Descriptor:
    """Base class. Subclasses set ``sample_columns`` and/or ``pool_columns``."""

    name: ClassVar[str] = ""
    # Columns written per candidate by `describe` (shard rows).
    sample_columns: ClassVar[tuple[str, ...]] = ()
    # Columns added to the merged table by `describe_pool`.
    pool_columns: ClassVar[tuple[str, ...]] = ()
    # Whether `describe` needs the VLM (a run without any such descriptor loads no model).
    needs_model: ClassVar[bool] = False
    # Columns never z-scored (ids, side statistics that only feed other descriptors).
    no_zscore: ClassVar[tuple[str, ...]] = ()

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """Per-sample values for the batch: column -> one value per row (NaN if failed)."""
        return {}

    def describe_pool(self, table: pd.DataFrame, cfg: Any) -> pd.DataFrame:
        """Pool-level columns for the merged table (same index as ``table``)."""
        return pd.DataFrame(index=table.index)

    def columns(self, pool_table: pd.DataFrame | None = None) -> list[str]:
        """Every column this descriptor produces (pool columns may depend on config)."""
        return [*self.sample_columns, *self.pool_columns]

    def config_key(self) -> dict[str, Any]:
        """This descriptor's whole setup (for the merged artifact's key)."""
        return {"class": f"{type(self).__module__}.{type(self).__qualname__}", **vars(self)}

    def sample_config_key(self) -> dict[str, Any]:
        """What of the setup changes the per-sample values (for the shard key)."""
        return self.config_key()


class SampleError(Exception):
    """A per-sample failure raised inside a descriptor (recorded, never fatal)."""


def error_reason(exc: BaseException) -> str:
    """A short, countable reason: the exception's class name, then its message."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}"[:300] if msg else type(exc).__name__


def reason_kind(error: str) -> str:
    """The countable part of an error string (its exception class)."""
    return error.split(":", 1)[0].strip() or "unknown"


class BatchContext:
    """One batch of candidate rows plus lazy, shared access to media and model passes.

    ``failed`` maps row index -> error reason; once a row failed, later descriptors
    skip it and its whole row is written with NaN descriptors.
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
        self._load_media = load_media
        self._frames: dict[int, np.ndarray | None] = {}
        self._model_frames: dict[int, np.ndarray | None] = {}
        self._memo: dict[Any, dict[int, Any]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def alive(self) -> list[int]:
        """Indices of rows that have not failed yet."""
        return [i for i in range(len(self.rows)) if i not in self.failed]

    def fail(self, i: int, exc: BaseException | str) -> None:
        """Mark row ``i`` failed (the first reason wins)."""
        if i not in self.failed:
            self.failed[i] = exc if isinstance(exc, str) else error_reason(exc)

    def frames(self, i: int) -> np.ndarray | None:
        """Row ``i``'s frames, (T, H, W, 3) uint8 with T <= max_frames; None if no media.

        Loaded once per batch and shared by every media descriptor; raises on
        unreadable media (callers go through :meth:`map_rows`).
        """
        if i not in self._frames:
            row = self.rows[i]
            kind = row.get("media_kind", "none")
            paths = list(row.get("media") or [])
            if kind == "none" or not paths:
                self._frames[i] = None
            else:
                loader = self._load_media or _default_load_media
                n = 1 if kind == "image" else self.max_frames
                known = int(row.get("n_frames") or -1)
                if 1 < known < n:
                    # Asking for more frames than the clip has repeats some, and a repeated
                    # frame reads as "no motion".
                    n = known
                arr = np.asarray(loader(kind, paths, n, None))
                if arr.ndim != 4 or arr.shape[-1] != 3:
                    raise SampleError(f"media gave shape {arr.shape}, expected (T, H, W, 3)")
                self._frames[i] = arr
        return self._frames[i]

    def model_rows(self, idx: list[int]) -> list[dict[str, Any]]:
        """Rows ``idx`` for a model call, their media decoded once per batch.

        The frames are loaded exactly as the model would load them itself (its frame
        count and pixel budget) and passed as ``frames``, so the loss pass and the
        generation passes do not decode the same clip again.
        """
        n = getattr(self.model, "frames", None)
        max_pixels = getattr(self.model, "max_pixels", None)
        if n is None:
            return [self.rows[i] for i in idx]
        out = []
        for i in idx:
            row = self.rows[i]
            if i not in self._model_frames:
                kind, paths = row.get("media_kind", "none"), list(row.get("media") or [])
                if kind in (None, "none") or not paths:
                    self._model_frames[i] = None
                else:
                    loader = self._load_media or _default_load_media
                    self._model_frames[i] = loader(kind, [str(p) for p in paths], n, max_pixels)
            frames = self._model_frames[i]
            out.append(row if frames is None else {**row, "frames": frames})
        return out

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

    def losses(self) -> dict[int, tuple[float, float]]:
        """(loss_visual, loss_blind) per alive row: answer-token mean cross-entropy with
        and without the visuals. One batched model pass per batch however many
        descriptors ask (VDS and PPL share it).
        """
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


def _default_load_media(kind: str, paths: list[str], n_frames: int, max_pixels: Any) -> np.ndarray:
    from gdo.media import load_media

    return load_media(kind, paths, n_frames, max_pixels)


def is_nan(x: Any) -> bool:
    """True for float NaN (and None), False for anything else."""
    return x is None or (isinstance(x, float) and math.isnan(x))
