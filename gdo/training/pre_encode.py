"""Training rows encoded once, before the first step (switch: ``training.pre_encode``).

Without it every batch decodes its clips, renders chat prompts, runs the processor
(pixel patches) and the model recomputes each row's M-RoPE positions, on every epoch. Here
each row is encoded once (``VLM.encode_each``): a clip shared by several QA turns is
decoded once, a clip's pixel patches are kept once, and a batch is then only padding and
concatenation (``VLM.collate_encoded``, with the positions assembled). The batches are the
tensors ``VLM.collate`` makes (the test suite checks it), so training is unchanged.

Everything is held in memory; :func:`estimate_mb` sizes it first, and the stage keeps the
per-batch path when the estimate exceeds ``training.pre_encode_max_mb`` (real models at
32 frames of 448x448 would need gigabytes per hundred rows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from gdo.models.inputs import Encoded
from gdo.utils.progress import progress

# uint8 frames while encoding plus float32 pixel patches, per frame pixel.
BYTES_PER_PIXEL = 3 + 3 * 4


def _media_key(row: dict[str, Any]) -> tuple:
    media = row.get("media")  # a list, or an array straight from parquet
    return (row.get("media_kind"), tuple(str(m) for m in ([] if media is None else media)))


def estimate_mb(rows: list[dict[str, Any]], frames: int, max_pixels: int) -> float:
    """Memory the encodings of ``rows`` take, in MB (each distinct media once)."""
    per_frame = max_pixels * BYTES_PER_PIXEL
    total = 0
    for kind, media in {_media_key(r) for r in rows}:
        if kind in (None, "none") or not media:
            continue
        total += per_frame * (len(media) if kind == "image" else frames)
    return total / 2**20


@dataclass
class PreEncoded:
    """Per row, its encoding or the ``SampleTooLong`` it raised; how long encoding took."""

    items: list[Encoded | Exception]
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)


def pre_encode(vlm: Any, rows: list[dict[str, Any]], chunk: int = 64) -> PreEncoded:
    """Encode every row once (``chunk`` rows per processor call); under a process group
    each rank encodes every W-th row and the ranks exchange them (every rank needs all).

    A media file that cannot be read raises here, as the first batch holding it would."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        start, world, rank = time.perf_counter(), dist.get_world_size(), dist.get_rank()
        mine = _encode(vlm, rows[rank::world], chunk)
        parts: list[Any] = [None] * world
        dist.all_gather_object(parts, mine)
        items: list[Encoded | Exception] = [None] * len(rows)  # type: ignore[list-item]
        for r, part in enumerate(parts):
            items[r::world] = part.items
        counts = {k: sum(p.counts[k] for p in parts) for k in mine.counts}
        return PreEncoded(items, time.perf_counter() - start, counts)
    return _encode(vlm, rows, chunk)


def _encode(vlm: Any, rows: list[dict[str, Any]], chunk: int) -> PreEncoded:
    start = time.perf_counter()
    frames: dict[tuple, Any] = {}
    patches: dict[int, dict[str, torch.Tensor]] = {}
    items: list[Encoded | Exception] = []
    shared = 0
    for first in progress(range(0, len(rows), chunk), desc="pre-encode", unit="batch"):
        samples = []
        for row in rows[first : first + chunk]:
            key = _media_key(row)
            if key[0] not in (None, "none") and key[1] and key not in frames:
                frames[key] = vlm.load_media(row)
            samples.append({**row, "frames": frames[key]} if key in frames else row)
        for sample, item in zip(samples, vlm.encode_each(samples), strict=True):
            if isinstance(item, Encoded) and item.vision:
                # Compact copies: the processor's outputs are views into its whole batch,
                # which would otherwise travel along (pickling to other ranks).
                item.vision = {k: v.clone() for k, v in item.vision.items()}
            if isinstance(item, Encoded) and "frames" in sample:
                # Turns of one clip: the same frames, so the same patches; keep one copy.
                mine = patches.setdefault(id(sample["frames"]), item.vision)
                if mine is not item.vision and _same(mine, item.vision):
                    item.vision = mine
                    shared += 1
            items.append(item)
    counts = {
        "rows": len(rows),
        "distinct_media": len(frames),
        "patches_shared": shared,
        "too_long": sum(isinstance(i, Exception) for i in items),
    }
    return PreEncoded(items, time.perf_counter() - start, counts)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a
    )


class EncodedRows:
    """The training dataset over pre-encoded rows: item ``i`` is ``{"index": i, "uid"}``
    (the collator looks the encoding up); ``rows`` stays for the sampler."""

    def __init__(
        self, rows: list[dict[str, Any]], encoded: PreEncoded, lengths: list[int] | None = None
    ) -> None:
        self.rows = rows
        self.encoded = encoded
        self.lengths = lengths

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"index": i, "uid": str(self.rows[i].get("uid", ""))}


def collate_pre_encoded(vlm: Any, encoded: PreEncoded) -> Any:
    """A ``collate(samples)`` over :class:`EncodedRows` items that raises ``SampleTooLong``
    (``.indices``) for too-long rows, as ``VLM.collate`` does (the ``Collator`` drops and
    counts them)."""
    from gdo.models import SampleTooLong

    def collate(samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        items = [encoded.items[s["index"]] for s in samples]
        bad = [k for k, item in enumerate(items) if isinstance(item, SampleTooLong)]
        if bad:
            first = items[bad[0]]
            err = SampleTooLong(first.n_tokens, first.max_length, index=bad[0], uid=first.uid)
            err.indices = bad
            raise err
        return vlm.collate_encoded(items)

    return collate
