"""Training data: a subset file -> checked samples -> batches from ``VLM.collate``.

Nothing is dropped silently: rows with missing media are skipped (or fail) and
counted; samples too long even after the VLM has cut frames are dropped and counted
per rank (``DropCounter``), and both counts go into the run's manifest.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gdo.utils.errors import ConfigError, InputError

# Columns a sample needs for training (docs/ARCHITECTURE.md, candidate table).
REQUIRED = ("question", "answer", "media_kind", "media")


def load_subset(path: str | Path, media_root: str | None = None) -> list[dict[str, Any]]:
    """Read a subset as candidate rows (dicts).

    ``.parquet``: the candidate table the select stage writes. Anything else (LLaVA JSON /
    JSONL, messages JSONL, a mixture YAML) goes through ``gdo.pool.read_candidates``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            path,
            reason="subset file not found",
            expected="a subset written by `gdo select`"
            " (subset.parquet) or a LLaVA JSON / messages JSONL file (training.subset)",
        )
    if path.suffix == ".parquet":
        import pandas as pd

        df = pd.read_parquet(path)
    else:
        from gdo.pool import read_candidates  # owned by the pool stage

        df = read_candidates(path, media_root=media_root)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            path,
            field=missing[0],
            expected=f"candidate columns {list(REQUIRED)}",
            got=f"columns {list(df.columns)}",
        )
    rows = df.to_dict("records")
    for i, row in enumerate(rows):
        row["media"] = [str(m) for m in _as_list(row.get("media"))]
        row["options"] = [str(o) for o in _as_list(row.get("options"))]
        for key in ("question", "answer"):
            if not isinstance(row.get(key), str):
                raise InputError(path, f"row {i}", key, "a string", got=row.get(key))
    return rows


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        return []


def drop_missing_media(
    rows: list[dict[str, Any]], policy: str, file: str | Path
) -> tuple[list[dict[str, Any]], int]:
    """Keep rows whose media files all exist; ``policy`` ``skip`` counts the rest, ``fail``
    raises an InputError naming the subset file, the row and the missing path."""
    if policy not in ("skip", "fail"):
        raise ConfigError(f"training.on_missing_media={policy}: expected 'skip' or 'fail'")
    kept, skipped = [], 0
    for i, row in enumerate(rows):
        absent = [m for m in row["media"] if not os.path.exists(m)]
        if row.get("media_kind", "none") != "none" and not row["media"]:
            absent = ["<no path>"]
        if not absent:
            kept.append(row)
            continue
        if policy == "fail":
            raise InputError(
                file,
                f"row {i} (uid {row.get('uid', '?')})",
                "media",
                "existing media files (or training.on_missing_media=skip)",
                got=absent[0],
                reason="media file not found",
            )
        skipped += 1
    return kept, skipped


def estimate_lengths(rows: list[dict[str, Any]], vlm: Any) -> list[int]:
    """Rough token counts (words + visual tokens) for length-grouped batching.

    Exact counts would need every clip decoded; grouping only needs the order right.
    """
    vc = getattr(getattr(vlm.model, "config", None), "vision_config", None)
    patch = int(getattr(vc, "patch_size", 14) or 14)
    merge = int(getattr(vc, "spatial_merge_size", 2) or 2)
    temporal = int(getattr(vc, "temporal_patch_size", 2) or 2)
    per_frame = max(1, int(vlm.max_pixels) // (patch * merge) ** 2)
    out = []
    for row in rows:
        words = len(row["question"].split()) + len(row["answer"].split())
        kind = row.get("media_kind", "none")
        if kind == "none":
            visual = 0
        elif kind == "image":
            visual = per_frame * max(1, len(row["media"]))
        else:
            visual = per_frame * math.ceil(int(vlm.frames) / temporal)
        out.append(words + visual)
    return out


class SubsetDataset:
    """A map-style dataset of sample dicts (the Trainer must not drop their keys)."""

    def __init__(self, rows: list[dict[str, Any]], lengths: list[int] | None = None) -> None:
        self.rows = rows
        self.lengths = lengths

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


@dataclass
class DropCounter:
    """Samples this rank dropped because they stayed too long after frame truncation."""

    too_long: int = 0
    uids: list[str] = field(default_factory=list)


class Collator:
    """``VLM.collate`` with samples that raise ``SampleTooLong`` dropped and counted.

    When every sample of a batch is too long (likely at batch size 1), the last good batch
    is replayed with ``gdo_zero_loss`` set: the step still runs forward and backward, so
    every rank joins the same collectives (ZeRO-3 gathers parameters inside forward), but
    the loss is multiplied by 0 and nothing is learned from the replay.
    """

    def __init__(self, collate: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> None:
        self.collate = collate
        self.dropped = DropCounter()
        self.last_ok: dict[str, Any] | None = None

    def __call__(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
        from gdo.models import SampleTooLong

        samples = list(samples)
        while True:
            try:
                batch = self.collate(samples)
                self.last_ok = batch
                return batch
            except SampleTooLong as exc:
                bad = set(getattr(exc, "indices", None) or [exc.index])
                if None in bad or not bad <= set(range(len(samples))):
                    raise
                for i in sorted(bad, reverse=True):
                    self.dropped.too_long += 1
                    self.dropped.uids.append(str(samples.pop(i).get("uid", "")))
                if not samples:
                    if self.last_ok is None:
                        raise
                    return {**self.last_ok, "gdo_zero_loss": 1}


def logits_at_labels(
    collate: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """``collate`` whose batches ask the model for logits at the answer positions only.

    transformers' causal-LM forward projects every position onto the vocabulary and then
    drops all but the labelled ones in the loss; ``logits_to_keep`` (a (B, L) mask of the
    positions that predict a label) and ``shift_labels`` (their targets) give the same loss
    and gradients without the other positions' logits (~5% of a CPU step for the tiny model;
    for a real one the skipped tensor is batch x length x a 150k vocabulary).
    """
    import torch

    def collate_labels(samples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = collate(samples)
        following = torch.nn.functional.pad(batch["labels"][:, 1:], (0, 1), value=-100)
        keep = following != -100
        return {**batch, "logits_to_keep": keep, "shift_labels": following[keep]}

    return collate_labels
