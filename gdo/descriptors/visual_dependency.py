"""VDS (visual dependency): does the answer need the visuals?

``vds = loss_blind - loss_visual``: the answer-token cross-entropy without the media
(the visual tokens dropped, a text-only prompt) minus with it. Near 0 when the
question gives the answer away or the model ignores the media; large when the
visuals carry the answer (docs/METHOD.md#vds-visual-dependency).
"""

from __future__ import annotations

from gdo.columns import LOSS_BLIND, LOSS_VISUAL, VDS
from gdo.descriptors.base import Descriptor, register
from gdo.descriptors.context import BatchContext


def visual_dependency(loss_visual: float, loss_blind: float) -> float:
    """VDS of one candidate: its answer loss without the media minus with it."""
    return loss_blind - loss_visual


@register("visual_dependency")
class VisualDependency(Descriptor):
    """VDS: ``loss_blind - loss_visual`` on the answer tokens."""

    sample_columns = (LOSS_VISUAL, LOSS_BLIND, VDS)
    needs_model = True

    def describe(self, ctx: BatchContext) -> dict[str, list[float]]:
        """Both answer losses of every row and their difference (NaN for failed rows)."""
        visual, blind = ctx.answer_losses()
        return {
            LOSS_VISUAL: visual,
            LOSS_BLIND: blind,
            VDS: [visual_dependency(v, b) for v, b in zip(visual, blind, strict=True)],
        }
