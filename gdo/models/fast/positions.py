"""Qwen-VL's M-RoPE positions per sample, made ahead, so batched passes do not redo them.

transformers computes a Qwen2-VL / Qwen3-VL batch's 3D rope positions (``get_rope_index``)
in a Python loop over every row and token, on each pass: the loss pass and the sampling
prefill of describe each pay it for every row. A sample's positions depend on its own
tokens and grids only, so :func:`prompt_positions` computes them once per processed
prompt (``VLM`` hooks it into the encoder's batched processor call, so it runs where the
encoding runs: the model's thread or describe's prefetch thread), and inside
:func:`rope_from` the model's ``get_rope_index`` assembles a batch from them: the same
positions and deltas, placed at each row's attention mask as transformers does.

A patch of transformers internals: its entry ``rope_positions`` in
:data:`gdo.models.fast.patch_guard.PATCHES`
names the release it was written against, and another release is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from gdo.models.fast.patch_guard import check_patch
from gdo.models.inputs import Encoded


def prompt_positions(core: Any, out: Any) -> torch.Tensor | None:
    """The (3, L) rope positions of one processed prompt with media (``out``: processor
    output of one sample), or None where the model has no M-RoPE or the prompt does not
    end on a text token (answer tokens then continue the last text run)."""
    method = getattr(type(core), "get_rope_index", None)
    grids = {k: out[k] for k in ("image_grid_thw", "video_grid_thw") if k in out}
    types = out.get("mm_token_type_ids") if hasattr(out, "get") else None
    if method is None or not grids or types is None or int(types[0, -1]) != 0:
        return None
    # The class's method: another thread may be inside ``rope_from`` on the same model.
    positions, _ = method(core, out["input_ids"], mm_token_type_ids=types, **grids)
    return positions[:, 0]


def encoded_positions(core: Any, e: Encoded) -> torch.Tensor | None:
    """The (3, P) positions of an encoding's prompt (its tokens before the labelled
    target), made from its tokens and grids; (3, P) counting up for a text-only prompt."""
    n = len(e.input_ids) - e.n_target
    if not e.vision:
        return torch.arange(n).expand(3, n)
    out = {
        "input_ids": torch.tensor([e.input_ids[:n]]),
        "mm_token_type_ids": torch.tensor([e.mm_token_type_ids[:n]]),
        **{k: v for k, v in e.vision.items() if k.endswith("grid_thw")},
    }
    return prompt_positions(core, out)


def _row(e: Encoded, n: int) -> torch.Tensor | None:
    """Positions of the first ``n`` tokens of ``e`` (its prompt's, then consecutive)."""
    if e.positions is None:
        # A text-only row is one text run; a row with media needs its positions.
        return None if e.vision else torch.arange(n).expand(3, n)
    p = e.positions
    have = p.shape[1]
    if n <= have:
        return p[:, :n]
    return torch.cat([p, (torch.arange(1, n - have + 1) + p[0, -1]).expand(3, -1)], dim=1)


def assemble(
    items: Sequence[Encoded], input_ids: torch.Tensor, attention_mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``get_rope_index``'s (positions (3, B, L), deltas (B, 1)) for a batch of ``items``,
    or None if a row's positions are not known (the caller computes them then)."""
    batch, length = input_ids.shape
    if batch != len(items) or (attention_mask is not None and attention_mask.dim() != 2):
        return None
    mask = attention_mask.bool() if attention_mask is not None else None
    out = torch.zeros(3, batch, length, dtype=input_ids.dtype, device=input_ids.device)
    deltas = []
    for r, e in enumerate(items):
        n = int(mask[r].sum()) if mask is not None else length
        p = _row(e, n) if n <= len(e.input_ids) else None
        if p is None:
            return None
        if mask is not None:
            out[:, r, mask[r]] = p.to(out.device)
        else:
            out[:, r] = p.to(out.device)
        deltas.append(int(p.max()) + 1 - n)
    return out, torch.tensor(deltas, device=input_ids.device).unsqueeze(1)


@contextmanager
def rope_from(core: Any, items: Sequence[Encoded]) -> Iterator[None]:
    """Inside the block, ``core.get_rope_index`` on a batch of ``items`` (in row order)
    assembles their positions made ahead; any other call, or a batch with a row not
    made ahead, runs transformers' own."""
    method = getattr(type(core), "get_rope_index", None)
    if method is None or not any(e.positions is not None for e in items):
        yield
        return
    check_patch("rope_positions")

    def get_rope_index(input_ids: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        got = assemble(items, input_ids, kwargs.get("attention_mask"))
        return got if got is not None else method(core, input_ids, *args, **kwargs)

    core.get_rope_index = get_rope_index
    try:
        yield
    finally:
        del core.get_rope_index
