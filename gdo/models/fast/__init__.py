"""The speed layer: everything that makes the VLM's passes fast without changing their values.

``gdo.models.VLM`` says *what* it computes (answer losses with and without the media,
option log-probabilities, samples, training batches); this package holds *how* it does so
quickly. Each piece is switchable or self-checking, and each has an equality test that
compares it with the stock path (listed below; a change here runs them).

Applied to the loaded model by :func:`apply_patches` (``load_model``), each an instance
patch of transformers internals behind its ``model.*`` switch:

- ``vision_attention``: Qwen2-VL's CPU vision attention as one SDPA call per chunk length
  (``model.fast_vision_attention``; tests/test_fast_attention.py)
- ``patch_embed``: the vision patch embedding as one matrix product
  (``model.linear_patch_embed``; tests/test_fast_paths.py)
- ``packing``: right-padded language-model passes on the real tokens only
  (``model.pack_sequences``; tests/test_fast_paths.py)

Used by the VLM's passes:

- ``shared_vision``: each media through the vision tower once, for all its options and
  passes (tests/test_fast_reuse.py, tests/test_fast_paths.py)
- ``positions``: a prompt's M-RoPE positions made once, assembled per batch instead of
  transformers' per-row loop on every pass (tests/test_fast_prepared.py,
  tests/test_models_qwen3.py)
- ``shared_prefix``: a question's prompt once for all its options, in one row
  (``model.shared_prompt_options``; tests/test_fast_paths.py)
- ``prefill`` and ``kv_cache``: the prompt prefilled once for ``n`` samples, the answers
  written into reserved KV room (``VLM.prefill_once``; tests/test_fast_prepared.py,
  tests/test_fast_reuse.py)

``VLM.reuse_encodings`` / ``VLM.prepare_encodings`` (encodings made once, or ahead on
another thread) are the entry points callers use; describe's per-batch media and
encoding caches are ``gdo.descriptors.context.BatchContext``'s.

Every piece that replaces or relies on a transformers internal has an entry in
:data:`gdo.models.fast.patch_guard.PATCHES` naming the release it was written against and
calls :func:`~gdo.models.fast.patch_guard.check_patch` where it applies, so another
release fails loudly (tests/test_fast_patch_guard.py checks both).
"""

from __future__ import annotations

from typing import Any

from gdo.models.fast.patch_guard import PATCHES, check_patch
from gdo.models.fast.positions import assemble, encoded_positions, prompt_positions, rope_from
from gdo.models.fast.prefill import can_prefill, generate_prefilled
from gdo.models.fast.shared_prefix import mask_sized, shared_row_logprobs, shared_rows_supported
from gdo.models.fast.shared_vision import FeatureCache, supports_sharing

__all__ = [
    "PATCHES",
    "FeatureCache",
    "apply_patches",
    "assemble",
    "can_prefill",
    "check_patch",
    "encoded_positions",
    "generate_prefilled",
    "mask_sized",
    "prompt_positions",
    "rope_from",
    "shared_row_logprobs",
    "shared_rows_supported",
    "supports_sharing",
]


def apply_patches(model: Any, model_cfg: Any) -> None:
    """Patch the loaded ``model``'s modules as ``model_cfg``'s switches say: the batched
    CPU vision attention (``model.fast_vision_attention``), the patch embedding as one
    matrix product (``model.linear_patch_embed``) and padding-free language-model passes
    (``model.pack_sequences``)."""
    if model_cfg.fast_vision_attention:
        from gdo.models.fast.vision_attention import patch_vision_attention

        patch_vision_attention(model)
    if getattr(model_cfg, "linear_patch_embed", False):
        from gdo.models.fast.patch_embed import patch_linear_patch_embed

        patch_linear_patch_embed(model)
    if getattr(model_cfg, "pack_sequences", False):
        from gdo.models.fast.packing import patch_packed_sequences

        patch_packed_sequences(model)
