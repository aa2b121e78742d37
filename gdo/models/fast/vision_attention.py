"""Batched CPU vision attention for Qwen2-VL (switch: ``model.fast_vision_attention``).

Without flash attention, transformers' Qwen2-VL ``VisionAttention`` makes one SDPA call per
chunk of ``cu_seqlens``: one per temporal patch of every video and one per image. At batch 32
on CPU those small calls were ~70% of the forward time (experiments/calibration/README.md,
"Earlier probes").
Chunks of equal length are independent attention problems of the same shape, so they can
be stacked into one batched SDPA call: same maths, one call per distinct length.
Only the instances of ``model`` are patched (the class is untouched) and only for the
``sdpa`` / ``eager`` implementations; tests check equality with the stock module.

A patch of transformers internals: its entry ``fast_vision_attention`` in
:data:`gdo.models.fast.patch_guard.PATCHES`
names the release it was written against, and another release is refused.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch

from gdo.models.fast.instance_patch import patch_forward
from gdo.models.fast.patch_guard import check_patch


def _batched_forward(
    self: Any,
    hidden_states: torch.Tensor,
    cu_seqlens: torch.Tensor,
    position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
    max_seqlen: int | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    from transformers.models.qwen2_vl.modeling_qwen2_vl import apply_rotary_pos_emb_vision

    if self.config._attn_implementation not in ("sdpa", "eager"):
        return type(self).forward(
            self, hidden_states, cu_seqlens, position_embeddings, max_seqlen, **kwargs
        )
    seq = hidden_states.shape[0]
    q, k, v = self.qkv(hidden_states).reshape(seq, 3, self.num_heads, -1).permute(1, 0, 2, 3)
    cos, sin = position_embeddings
    q, k = apply_rotary_pos_emb_vision(q, k, cos, sin)  # (seq, heads, head_dim)
    bounds = cu_seqlens.tolist()
    by_length: dict[int, list[int]] = defaultdict(list)
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        by_length[stop - start].append(start)
    dropout = self.attention_dropout if self.training else 0.0
    out = torch.empty_like(q)
    for length, starts in by_length.items():
        if len(by_length) == 1:
            index = None  # every chunk has this length: a plain reshape, no gather
            qs, ks, vs = (x.reshape(len(starts), length, *x.shape[1:]) for x in (q, k, v))
        else:
            index = (torch.tensor(starts)[:, None] + torch.arange(length)[None]).reshape(-1)
            qs, ks, vs = (x[index].reshape(len(starts), length, *x.shape[1:]) for x in (q, k, v))
        # (chunks, heads, length, head_dim): one call for all chunks of this length.
        attn = torch.nn.functional.scaled_dot_product_attention(
            qs.transpose(1, 2),
            ks.transpose(1, 2),
            vs.transpose(1, 2),
            dropout_p=dropout,
            scale=self.scaling,
        ).transpose(1, 2)
        if index is None:
            out = attn.reshape(q.shape)
        else:
            out[index] = attn.reshape(-1, *q.shape[1:])
    return self.proj(out.reshape(seq, -1))


def patch_vision_attention(model: Any, enabled: bool = True) -> int:
    """Batch (``enabled``) or restore the vision attention of ``model``; returns modules changed.

    Only Qwen2-VL's ``VisionAttention`` is touched; other architectures are left as they are.
    """
    from transformers.models.qwen2_vl.modeling_qwen2_vl import VisionAttention

    if enabled:
        check_patch("fast_vision_attention")
    return patch_forward(
        model, lambda m: type(m) is VisionAttention, _batched_forward, enabled=enabled
    )
