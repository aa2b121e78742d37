"""PPL (difficulty): how hard the answer is for the base model.

``ppl = exp(clip(loss_visual, -clip, clip))``, the answer perplexity with the visuals;
the clip (30 in the paper, docs/METHOD.md#ppl-difficulty) keeps a diverging loss from
overflowing. It reuses the loss pass of VDS, so asking for both costs one pass.
"""

from __future__ import annotations

import math

from gdo.columns import PPL
from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.context import BatchContext


def perplexity(loss_visual: float, clip: float = 30.0) -> float:
    """PPL of one candidate: ``exp`` of its answer loss with the media, clipped to
    ``[-clip, clip]`` first (NaN stays NaN)."""
    if math.isnan(loss_visual):
        return loss_visual
    return math.exp(min(max(loss_visual, -clip), clip))


@register("difficulty")
class Difficulty(Descriptor):
    """PPL: answer perplexity with the visuals."""

    sample_columns = (PPL,)
    needs_model = True

    def __init__(self, clip: float = 30.0) -> None:
        self.clip = float(clip)

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """``exp(clip(loss_visual))`` of every row (NaN for failed rows)."""
        visual, _ = ctx.answer_losses()
        return {PPL: [perplexity(v, self.clip) for v in visual]}
