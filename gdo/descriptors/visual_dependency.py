"""VDS (visual dependency): does the answer need the visuals?

``vds = loss_blind - loss_visual``: the answer-token cross-entropy without the media
(the visual tokens dropped, a text-only prompt) minus with it. Near 0 when the
question gives the answer away or the model ignores the media; large when the
visuals carry the answer. Both losses come from one batched pass shared with PPL.
"""

from __future__ import annotations

from gdo.descriptors.base import BatchContext, Descriptor, register


@register("visual_dependency")
class VisualDependency(Descriptor):
    """VDS: ``loss_blind - loss_visual`` on the answer tokens."""

    sample_columns = ("loss_visual", "loss_blind", "vds")
    needs_model = True

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """Both losses of every row (one shared model pass) and their difference."""
        losses = ctx.losses()
        return {
            "loss_visual": ctx.column({i: v for i, (v, _) in losses.items()}),
            "loss_blind": ctx.column({i: b for i, (_, b) in losses.items()}),
            "vds": ctx.column({i: b - v for i, (v, b) in losses.items()}),
        }
