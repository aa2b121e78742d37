"""PPL (difficulty): how hard the answer is for the base model.

``ppl = exp(clip(loss_visual, -clip, clip))``, the answer perplexity with the visuals;
the clip (30 in the paper, docs/METHOD.md#ppl-difficulty) keeps a diverging loss from
overflowing. It reuses the loss pass of VDS, so asking for both costs one pass.
"""

from __future__ import annotations

import math

from gdo.columns import PPL
from gdo.descriptors.base import BatchContext, Descriptor, register


@register("difficulty")
class Difficulty(Descriptor):
    """PPL: answer perplexity with the visuals."""

    sample_columns = (PPL,)
    needs_model = True

    def __init__(self, clip: float = 30.0) -> None:
        self.clip = float(clip)

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """``exp(clip(loss_visual))`` of every row."""
        losses = ctx.losses()
        c = self.clip
        return {PPL: ctx.column({i: math.exp(min(max(v, -c), c)) for i, (v, _) in losses.items()})}
