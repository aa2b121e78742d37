"""Sampling ``n`` answers per prompt with the prompt run once (``VLM.prefill_once``).

HF ``generate`` repeats each prompt ``n`` times *before* the prefill, so the language model
runs the whole prompt ``n`` times (transformers 5 encodes the media once and repeats the
features; older versions run the vision tower ``n`` times too). Here a first ``generate``
(one greedy token, discarded, no caller logits processors) prefills every prompt but its
last token once; its KV cache (and Qwen-VL's M-RoPE offsets, ``rope_deltas``) are repeated
``n`` times (sample-major, as HF repeats), with room for the answers reserved
(:mod:`gdo.models.fast.kv_cache`), and the sampling ``generate`` continues from it on the
last prompt token. Same rows, same order, same logits up to float noise
(tests/test_fast_prepared.py, tests/test_fast_reuse.py).

It relies on transformers internals (a ``generate`` that continues from a given cache, the
model's ``rope_deltas``): its entry ``prefill_once`` in
:data:`gdo.models.fast.patch_guard.PATCHES` names the release it was written against, and
another release is refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from gdo.models.fast.kv_cache import repeat_and_reserve
from gdo.models.fast.patch_guard import check_patch
from gdo.models.fast.positions import rope_from
from gdo.models.fast.shared_vision import FeatureCache
from gdo.models.inputs import Encoded


def cache_arg(model: Any) -> str | None:
    """The name ``forward`` takes the KV cache under (``cache`` in transformers 5,
    ``past_key_values`` before), or None if it takes none."""
    params = inspect.signature(type(model).forward).parameters
    for name in ("cache", "past_key_values"):
        if name in params:
            return name
    return None


def can_prefill(model: Any, batch: dict[str, torch.Tensor]) -> bool:
    """Whether the prompt can be prefilled on its own: a KV-cache model whose prompts
    end on a text token (the one token left for ``generate`` to run)."""
    if cache_arg(model) is None or batch["input_ids"].shape[1] < 2:
        return False
    types = batch.get("mm_token_type_ids")
    return types is None or not bool(types[:, -1].any())


def _prefill(model: Any, head: dict[str, torch.Tensor], kwargs: dict[str, Any]) -> Any:
    """One greedy token after ``head`` (no caller logits processors): the prompt's KV
    cache and M-RoPE offsets, for the sampling ``generate`` to continue from."""
    from transformers import LogitsProcessorList

    return model.generate(
        **head,
        max_new_tokens=1,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
        num_return_sequences=1,
        pad_token_id=kwargs["pad_token_id"],
        eos_token_id=kwargs["eos_token_id"],
        return_dict_in_generate=True,
        logits_processor=LogitsProcessorList(),  # the caller's are for the samples
    )


def generate_prefilled(
    model: Any,
    batch: dict[str, torch.Tensor],
    n: int,
    kwargs: dict[str, Any],
    items: list[Encoded] | None = None,
    features: FeatureCache | None = None,
    to_device: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
) -> torch.Tensor:
    """``model.generate(**batch, **kwargs)`` of ``n`` samples per prompt (``kwargs``'
    ``num_return_sequences``), with each prompt run once (see the module docstring).

    With a ``features`` cache (inside ``VLM.reuse_encodings``) the prefill takes the media's
    vision features from it (``items``: the rows' encodings, ``to_device`` the VLM's), and
    M-RoPE positions made ahead are assembled, not redone."""
    check_patch("prefill_once")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    head = {k: v[:, :-1] if k in ("input_ids", "attention_mask", "mm_token_type_ids") else v
            for k, v in batch.items()}  # fmt: skip
    if features is not None and items is not None:
        features.into(head, model.model, items, to_device)
    with rope_from(getattr(model, "model", None), items or []):
        first = _prefill(model, head, kwargs)
    cache = getattr(first, "cache", None) or getattr(first, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_repeat_interleave"):
        return model.generate(**batch, **kwargs)
    # Repeated n times, with room for the answers' tokens (written in place, not
    # concatenated per step).
    repeat_and_reserve(cache, n, int(kwargs["max_new_tokens"]))
    core = getattr(model, "model", None)
    deltas = getattr(core, "rope_deltas", None)
    if isinstance(deltas, torch.Tensor) and deltas.shape[0] == ids.shape[0]:
        core.rope_deltas = deltas.repeat_interleave(n, dim=0)
    rest = {k: batch[k].repeat_interleave(n, dim=0) for k in ("mm_token_type_ids",) if k in batch}
    return model.generate(
        input_ids=ids.repeat_interleave(n, dim=0),
        attention_mask=mask.repeat_interleave(n, dim=0),
        **rest,
        **{cache_arg(model): cache},
        **{**kwargs, "num_return_sequences": 1},
    )
