"""A KV cache that writes new tokens into room reserved ahead instead of concatenating.

transformers' ``DynamicLayer`` appends each decoding step's keys and values with
``torch.cat``, a copy of the whole cache per step and layer. When the number of new tokens
is bounded (``max_new_tokens``), :func:`reserve` gives every dynamic layer a buffer with
that room: a step writes its token in place and the layer's ``keys`` / ``values`` are
views of the filled part, the same values ``torch.cat`` would give.

A patch of transformers internals: its entry ``reserved_kv_cache`` in
:data:`gdo.models.fast.patch_guard.PATCHES`
names the release it was written against, and another release is refused.
"""

from __future__ import annotations

from typing import Any

import torch

from gdo.models.fast.patch_guard import check_patch

try:
    from transformers.cache_utils import DynamicLayer
except ImportError:  # pragma: no cover - transformers without cache layers
    DynamicLayer = None  # type: ignore[assignment,misc]


def _buffer(t: torch.Tensor, room: int, repeats: int = 1) -> torch.Tensor:
    """``t`` (batch, heads, length, dim) with each row repeated ``repeats`` times (as
    ``repeat_interleave`` on the batch) and ``room`` free positions after it, one copy."""
    b, rest, length = t.shape[0], t.shape[1:-2], t.shape[-2]
    buf = torch.empty((b * repeats, *rest, length + room, t.shape[-1]), dtype=t.dtype,
                      device=t.device)  # fmt: skip
    buf.view(b, repeats, *buf.shape[1:])[..., :length, :] = t[:, None]
    return buf


if DynamicLayer is not None:

    class ReservedLayer(DynamicLayer):
        """A ``DynamicLayer`` whose keys / values live at the start of reserved buffers."""

        def reserve(self, room: int, repeats: int = 1) -> None:
            """Room for ``room`` more tokens (the current ones copied once, each batch row
            ``repeats`` times)."""
            self._keys_buf = _buffer(self.keys, room, repeats)
            self._values_buf = _buffer(self.values, room, repeats)
            n = self.keys.shape[-2]
            self.keys, self.values = self._keys_buf[..., :n, :], self._values_buf[..., :n, :]

        def _in_buffer(self) -> bool:
            # Another cache method (crop, batch_select_indices, ...) may have replaced them.
            buf = getattr(self, "_keys_buf", None)
            return (
                buf is not None
                and self.keys.data_ptr() == buf.data_ptr()
                and self.values.data_ptr() == self._values_buf.data_ptr()
                and self.keys.shape[:-2] == buf.shape[:-2]
            )

        def update(
            self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
        ) -> tuple[torch.Tensor, torch.Tensor]:
            if not self.is_initialized or self.keys.dim() != key_states.dim():
                return super().update(key_states, value_states, *args, **kwargs)
            start, new = self.keys.shape[-2], key_states.shape[-2]
            if not self._in_buffer() or start + new > self._keys_buf.shape[-2]:
                self.reserve(max(new, start))
            end = start + new
            self._keys_buf[..., start:end, :] = key_states
            self._values_buf[..., start:end, :] = value_states
            self.keys, self.values = self._keys_buf[..., :end, :], self._values_buf[..., :end, :]
            return self.keys, self.values


def _plain(layer: Any) -> bool:
    return type(layer) is DynamicLayer and layer.is_initialized and layer.keys.dim() == 4


def reserve(cache: Any, room: int) -> int:
    """Give each initialized plain dynamic layer of ``cache`` room for ``room`` more tokens;
    returns how many layers were changed (0 for caches of other kinds)."""
    if DynamicLayer is None or room <= 0:
        return 0
    check_patch("reserved_kv_cache")
    changed = 0
    for layer in getattr(cache, "layers", []):
        if _plain(layer):
            layer.__class__ = ReservedLayer
            layer.reserve(room)
            changed += 1
    return changed


def repeat_and_reserve(cache: Any, repeats: int, room: int) -> None:
    """``cache.batch_repeat_interleave(repeats)`` then :func:`reserve` ``room``: for a cache
    of plain dynamic layers both in one copy per tensor."""
    from transformers.cache_utils import Cache

    check_patch("reserved_kv_cache")
    layers = getattr(cache, "layers", None)
    generic = getattr(type(cache), "batch_repeat_interleave", None)
    if (
        DynamicLayer is None
        or room <= 0
        or not layers
        or generic is not Cache.batch_repeat_interleave
        or not all(_plain(layer) for layer in layers)
    ):
        cache.batch_repeat_interleave(repeats)
        reserve(cache, room)
        return
    for layer in layers:
        layer.__class__ = ReservedLayer
        layer.reserve(room, repeats)
