"""VDS (visual dependency): does the answer need the visuals?

``vds = loss_blind - loss_visual``: the answer-token cross-entropy without the media
(the visual tokens dropped, a text-only prompt) minus with it. Near 0 when the
question gives the answer away or the model ignores the media; large when the
visuals carry the answer. Both losses come from one batched pass shared with PPL.
"""

from __future__ import annotations

from gdo.columns import LOSS_BLIND, LOSS_VISUAL, VDS
from gdo.descriptors.base import BatchContext, Descriptor, register


@register("visual_dependency")
class VisualDependency(Descriptor):
    """VDS: ``loss_blind - loss_visual`` on the answer tokens."""

    sample_columns = (LOSS_VISUAL, LOSS_BLIND, VDS)
    needs_model = True

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """Both losses of every row (one shared model pass) and their difference."""
        losses = ctx.losses()
        return {
            LOSS_VISUAL: ctx.column({i: v for i, (v, _) in losses.items()}),
            LOSS_BLIND: ctx.column({i: b for i, (_, b) in losses.items()}),
            VDS: ctx.column({i: b - v for i, (v, b) in losses.items()}),
        }
