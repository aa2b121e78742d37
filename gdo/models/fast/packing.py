"""Right-padded batches through the language model without their padding
(switch: ``model.pack_sequences``).

A training batch is padded to its longest row (about a third of the tokens of a demo batch
are padding), and every linear layer, norm and activation of the language model runs on
the padding too. Here Qwen2-VL's text model takes the batch's real tokens only: its
inputs are packed into one row of real tokens (positions kept), every per-token layer runs
on that row, and only attention puts the tokens back into their padded rows, where SDPA's
causal mask gives each token exactly the keys it had (padding comes after every real
token of its row). The outputs go back to their padded places (zeros at the padding). Same
losses and gradients up to float rounding (the test suite checks both).

Packing applies to right-padded, cache-free passes with M-RoPE positions (training, loss
passes); anything else (generation, left padding, custom 4D masks) takes the stock path.
Only ``Qwen2VLTextModel`` instances with SDPA attention are patched; their attention is
registered under its own name (:data:`PACKED`), which behaves as SDPA for unpacked input.

A patch of transformers internals: its entry ``pack_sequences`` in
:data:`gdo.models.fast.patch_guard.PATCHES`
names the release it was written against, and another release is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from gdo.models.fast.instance_patch import patch_forward
from gdo.models.fast.patch_guard import check_patch

PACKED = "gdo_packed_sdpa"


@dataclass
class PackedRows:
    """Where a packed row's tokens sit in the padded batch (``keep``: (B, L) real tokens)."""

    keep: torch.Tensor

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(1, H, T, d) packed -> (B, H, L, d) padded (zeros at the padding)."""
        batch, length = self.keep.shape
        out = x.new_zeros(batch, length, x.shape[1], x.shape[3])
        out[self.keep] = x[0].transpose(0, 1)
        return out.transpose(1, 2)

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, H, d) padded -> (1, T, H, d) packed."""
        return x[self.keep][None]


def packed_sdpa_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: Any,
    **kwargs: Any,
) -> tuple[torch.Tensor, Any]:
    """SDPA attention; for packed rows (``attention_mask`` a :class:`PackedRows`) the
    tokens are put back into their padded rows around a causal SDPA call."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if not isinstance(attention_mask, PackedRows):
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    rows = attention_mask
    kwargs.pop("is_causal", None)
    out, weights = sdpa_attention_forward(
        module, rows.pad(query), rows.pad(key), rows.pad(value), None, is_causal=True, **kwargs
    )
    return rows.unpad(out), weights


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(PACKED, packed_sdpa_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(PACKED, sdpa_mask)


def _right_padded(mask: Any) -> torch.Tensor | None:
    """The (B, L) boolean mask of real tokens if ``mask`` is a 2D right-padded attention
    mask with some padding, else None."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        return None
    keep = mask.bool()
    lengths = keep.sum(dim=1)
    if bool((lengths == keep.shape[1]).all()) or bool((lengths == 0).any()):
        return None
    prefix = torch.arange(keep.shape[1], device=keep.device)[None] < lengths[:, None]
    return keep if bool((prefix == keep).all()) else None


def _packed_forward(
    self: Any,
    input_ids: torch.Tensor | None = None,
    attention_mask: Any = None,
    position_ids: torch.Tensor | None = None,
    cache: Any = None,
    inputs_embeds: torch.Tensor | None = None,
    use_cache: bool | None = None,
    **kwargs: Any,
) -> Any:
    stock = type(self).forward
    keep = _right_padded(attention_mask)
    packable = (
        keep is not None
        and inputs_embeds is not None
        and cache is None
        and (not use_cache or self.training)
        and isinstance(position_ids, torch.Tensor)
        and position_ids.shape[:1] == (3,)
        and position_ids.dim() == 3
        and self.config._attn_implementation == PACKED
        and not kwargs.get("past_key_values")
    )
    if not packable:
        return stock(
            self,
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )
    rows = PackedRows(keep)
    out = stock(
        self,
        input_ids=None,
        # A mapping skips transformers' mask building; each attention layer gets the rows.
        attention_mask={"full_attention": rows},
        position_ids=position_ids[:, keep][:, None],
        cache=None,
        inputs_embeds=inputs_embeds[keep][None],
        use_cache=False,
        **kwargs,
    )
    hidden = out.last_hidden_state[0]
    padded = hidden.new_zeros(*keep.shape, hidden.shape[-1])
    padded[keep] = hidden
    out.last_hidden_state = padded
    return out


def patch_packed_sequences(model: Any, enabled: bool = True) -> int:
    """Pack (``enabled``) or restore the Qwen2-VL text models of ``model`` that use SDPA;
    returns the number of text models changed."""
    from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VLTextModel

    if enabled:
        check_patch("pack_sequences")
    _register()
    texts = [m for m in model.modules() if type(m) is Qwen2VLTextModel]
    want, have = ("sdpa", PACKED) if enabled else (PACKED, "sdpa")
    chosen = {id(m) for m in texts if m.config._attn_implementation == want}
    for module in texts:
        if id(module) in chosen:
            module.config._attn_implementation = have
    return patch_forward(model, lambda m: id(m) in chosen, _packed_forward, enabled=enabled)
