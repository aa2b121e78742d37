"""What a descriptor is and the registry by name.

A descriptor is one class in one file, registered by name with ``@register``, and one
config node under ``descriptors.specs`` (the registered name: its options). It may work per
sample (``describe``: during ``gdo describe``, on one batch at a time) and/or per pool
(``describe_pool``: during ``gdo describe merge``, on the joined table). A descriptor
whose values come from the media alone sets ``per_clip`` and gives ``clip_value``: it is
then computed once per clip (a clip's QA turns share it), ahead of the model passes.

Descriptors never load media or run the model themselves: they ask the
:class:`~gdo.descriptors.context.BatchContext`, which loads each clip's frames once and
runs each model pass once per batch (VDS and PPL share one loss pass), and which isolates
per-sample failures so one unreadable video never sinks its batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd

from gdo.descriptors.context import BatchContext

REGISTRY: dict[str, type[Descriptor]] = {}


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
    # Whether the values come from the row's media alone (kind, paths, frame count) through
    # ``clip_value``: the rows of one clip (its QA turns) then share one computation, done
    # ahead of the model passes in describe's media workers.
    per_clip: ClassVar[bool] = False

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

    def clip_value(self, ctx: BatchContext, i: int) -> Any:
        """For a ``per_clip`` descriptor: row ``i``'s value from its media alone (no model).

        ``describe`` reads it through :meth:`BatchContext.clip_values`, which computes it
        once per clip (or takes what describe's media workers computed ahead)."""
        raise NotImplementedError(f"{type(self).__name__} sets per_clip but has no clip_value")


def is_nan(x: Any) -> bool:
    """True for float NaN (and None), False for anything else."""
    return x is None or (isinstance(x, float) and math.isnan(x))
