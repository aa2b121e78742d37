"""Option scoring with the prompt run once: every option of a question in one row.

``score_options`` used to give each option its own row (prompt + option), so the language
model ran a question's whole prompt once per option. Here a question is one row: its
prompt, then every option's tokens one after the other. A 4D attention mask lets each
option token see the prompt and its own option's earlier tokens only, and each option's
M-RoPE positions continue from the prompt's end, as in its own row. Every option token
therefore meets exactly the keys, values and positions it met in the per-option row:
the same log-probabilities up to float noise (the test suite checks it), for a fraction
of the tokens (prompt + options instead of options x prompt).

Needs an attention that takes an arbitrary mask (``sdpa``: boolean, ``eager``: additive)
and a model whose prompt positions :func:`gdo.models.fast.positions.prompt_positions` can make
(Qwen2-VL / Qwen3-VL); :func:`shared_rows_supported` says whether a model qualifies.

It relies on transformers internals (the model forward taking a 4D mask and the rows' 3D
positions): its entry ``shared_prompt_rows`` in :data:`gdo.models.fast.patch_guard.PATCHES`
names the release it was written against, and another release is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gdo.models.fast.patch_guard import check_patch
from gdo.models.fast.positions import encoded_positions
from gdo.models.fast.shared_vision import FeatureCache, supports_sharing
from gdo.models.inputs import Encoded

# Attention implementations that honour a custom 4D mask (flash-attention 2 does not).
MASKED_ATTENTION = ("sdpa", "eager")
# Largest dense mask per forward pass (rows x length x length elements): long video prompts
# go in smaller passes rather than a mask of gigabytes.
MAX_MASK_ELEMENTS = 2**28


def shared_rows_supported(model: Any) -> bool:
    """Whether ``model`` (a Qwen-VL ``...ForConditionalGeneration``) can score options in
    shared rows: an attention that takes a 4D mask, M-RoPE positions we can make ahead, and
    the ``.model`` / ``.lm_head`` split the scoring reads hidden states from."""
    core, head = getattr(model, "model", None), getattr(model, "lm_head", None)
    impl = getattr(getattr(model, "config", None), "_attn_implementation", None)
    return (
        core is not None
        and head is not None
        and impl in MASKED_ATTENTION
        and getattr(type(core), "get_rope_index", None) is not None
    )


@dataclass
class SharedRows:
    """A batch of shared rows and where each option token's log-probability is read."""

    batch: dict[str, torch.Tensor]
    row: torch.Tensor  # (n_tokens,) batch row of each option token
    source: torch.Tensor  # (n_tokens,) column whose hidden state predicts the token
    target: torch.Tensor  # (n_tokens,) the token id
    sizes: list[int]  # tokens per option, sample-major (split ``n_tokens`` with it)


def build_shared_rows(
    core: Any, groups: list[list[Encoded]], pad_id: int, mask_dtype: Any
) -> SharedRows:
    """One row per sample from its per-option encodings ``groups[i]`` (as
    ``SampleEncoder.encode_options`` makes them: one prompt, one labelled tail each).

    ``mask_dtype``: ``torch.bool`` for SDPA (True = attend), else a float dtype for an
    additive mask (0 = attend, the dtype's minimum = blocked).
    """
    rows: list[tuple[list[int], list[int], torch.Tensor, list[tuple[int, int]]]] = []
    row_idx: list[int] = []
    source: list[int] = []
    target: list[int] = []
    sizes: list[int] = []
    for r, group in enumerate(groups):
        first = group[0]
        n_prompt = len(first.input_ids) - first.n_target
        ids = list(first.input_ids[:n_prompt])
        types = list(first.mm_token_type_ids[:n_prompt])
        base = first.positions
        if base is None or base.shape[1] != n_prompt:
            base = encoded_positions(core, first)
        if base is None:
            raise ValueError("shared option rows need a prompt that ends on a text token")
        last = int(base[0, -1])
        spans = []
        pos_parts = [base]
        for e in group:
            tail = list(e.input_ids[len(e.input_ids) - e.n_target :])
            start = len(ids)
            spans.append((start, len(tail)))
            # The first option token is predicted by the prompt's last token, the others by
            # the option's previous token.
            source += [n_prompt - 1] + list(range(start, start + len(tail) - 1))
            target += tail
            row_idx += [r] * len(tail)
            sizes.append(len(tail))
            ids += tail
            types += [0] * len(tail)
            pos_parts.append((torch.arange(1, len(tail) + 1) + last).expand(3, -1))
        rows.append((ids, types, torch.cat(pos_parts, dim=1), spans))
    length = max(len(ids) for ids, *_ in rows)
    n = len(rows)
    input_ids = torch.full((n, length), pad_id, dtype=torch.long)
    types = torch.zeros((n, length), dtype=torch.long)
    positions = torch.zeros((3, n, length), dtype=torch.long)
    # Pad queries see only themselves (a fully blocked row would give NaN).
    allowed = torch.eye(length, dtype=torch.bool).repeat(n, 1, 1)
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    for r, (ids, tys, pos, spans) in enumerate(rows):
        size = len(ids)
        input_ids[r, :size] = torch.tensor(ids)
        types[r, :size] = torch.tensor(tys)
        positions[:, r, :size] = pos
        n_prompt = spans[0][0]
        allowed[r, :size, :n_prompt] = causal[:size, :n_prompt]
        for start, count in spans:
            stop = start + count
            allowed[r, start:stop, start:stop] = causal[:count, :count]
    if mask_dtype == torch.bool:
        mask = allowed[:, None]
    else:
        blocked = torch.finfo(mask_dtype).min
        mask = torch.zeros(allowed.shape, dtype=mask_dtype).masked_fill(~allowed, blocked)[:, None]
    batch: dict[str, torch.Tensor] = {
        "input_ids": input_ids,
        "mm_token_type_ids": types,
        "attention_mask": mask,
        "position_ids": positions,
    }
    for key in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
        parts = [g[0].vision[key] for g in groups if key in g[0].vision]
        if parts:
            batch[key] = torch.cat(parts, dim=0)
    return SharedRows(
        batch=batch,
        row=torch.tensor(row_idx, dtype=torch.long),
        source=torch.tensor(source, dtype=torch.long),
        target=torch.tensor(target, dtype=torch.long),
        sizes=sizes,
    )


def option_sums(logp: torch.Tensor, sizes: list[int], counts: list[int]) -> list[np.ndarray]:
    """Per sample, the summed log-probability of each of its ``counts[i]`` options."""
    per_option = [float(x.sum()) for x in torch.split(logp.double().cpu(), sizes)]
    out, start = [], 0
    for c in counts:
        out.append(np.array(per_option[start : start + c], dtype=np.float64))
        start += c
    return out


def mask_sized(
    groups: list[list[Encoded]], limit: int = MAX_MASK_ELEMENTS
) -> list[list[list[Encoded]]]:
    """``groups`` cut into consecutive passes whose masks (rows x length^2) stay within
    ``limit`` elements (at least one row per pass)."""

    def length(group: list[Encoded]) -> int:
        return len(group[0].input_ids) - group[0].n_target + sum(e.n_target for e in group)

    passes: list[list[list[Encoded]]] = [[]]
    longest = 0
    for group in groups:
        longest_with = max(longest, length(group))
        if passes[-1] and (len(passes[-1]) + 1) * longest_with**2 > limit:
            passes.append([])
            longest_with = length(group)
        passes[-1].append(group)
        longest = longest_with
    return passes


@torch.no_grad()
def shared_row_logprobs(
    model: Any,
    groups: list[list[Encoded]],
    pad_id: int,
    to_device: Callable[[dict], dict],
    features: FeatureCache | None = None,
) -> list[np.ndarray]:
    """Summed log-probability of each option of each group: one forward pass of ``model``
    over the groups' shared rows. ``features``: vision features kept across passes
    (``VLM.reuse_encodings``)."""
    check_patch("shared_prompt_rows")
    core, head = model.model, model.lm_head
    sdpa = model.config._attn_implementation == "sdpa"
    dtype = torch.bool if sdpa else next(model.parameters()).dtype
    shared = build_shared_rows(core, groups, pad_id, dtype)
    batch = to_device(shared.batch)
    pixels = [id(v) for g in groups for k, v in g[0].vision.items() if k.startswith("pixel")]
    if features is None and len(set(pixels)) < len(pixels) and supports_sharing(core):
        features = FeatureCache()  # rows on the same video: its features once, this pass
    if features is not None:
        features.into(batch, core, [g[0] for g in groups], to_device)
    hidden = core(**batch, use_cache=False).last_hidden_state
    picked = hidden[shared.row.to(hidden.device), shared.source.to(hidden.device)]
    logits = head(picked).float()
    target = shared.target.to(logits.device)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, target[:, None])[:, 0]
    return option_sums(logp, shared.sizes, [len(g) for g in groups])
