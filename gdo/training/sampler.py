"""The training order: seeded by (seed, epoch), length-grouped, modality-pure under ZeRO-3.

Every rank draws the same order, and a resumed run redraws exactly the order of the epoch
it stopped in (the Trainer then skips the batches already trained on); a generator
carried across epochs would not survive the restart.

Under ZeRO-3 each rank gathers a module's parameters every time it runs that module, and
the gathers are collectives. Qwen-VL runs its vision tower once for the images and once
for the videos of a batch, so a rank with a mixed batch next to a rank with a video-only
batch issues a different number of gathers and the job dies ("collective mismatch").
``block`` > 0 therefore cuts the order into blocks of ``block`` (= batch per rank x ranks)
samples of one modality each, so every rank of a step sees the same modality. A
modality's last partial block is filled with repeats of that modality (counted: the
sampler's length grows by at most ``block - 1`` per modality).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler


def modality_of(media_kind: str) -> str:
    """``image``, ``video`` (videos and frame folders) or ``none``."""
    return {"image": "image", "video": "video", "frames": "video"}.get(str(media_kind), "none")


class EpochSampler(torch.utils.data.Sampler):
    """A shuffle of ``n`` samples seeded by (seed, epoch); see the module docstring."""

    def __init__(
        self,
        n: int,
        seed: int,
        lengths: list[int] | None = None,
        batch_size: int = 1,
        modalities: list[str] | None = None,
        block: int = 0,
    ) -> None:
        self.n, self.seed, self.lengths, self.batch_size = n, seed, lengths, batch_size
        self.modalities = modalities if block > 0 else None
        self.block = block
        self.epoch = 0
        self._len = len(self._order(0)) if self.modalities else n

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer / accelerate at the start of every epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[int]:
        return iter(self._order(self.epoch))

    def _shuffle(self, idx: list[int], gen: torch.Generator) -> list[int]:
        if self.lengths:
            sub = [self.lengths[i] for i in idx]
            order = LengthGroupedSampler(self.batch_size, lengths=sub, generator=gen)
            return [idx[j] for j in order]
        return [idx[j] for j in torch.randperm(len(idx), generator=gen).tolist()]

    def _order(self, epoch: int) -> list[int]:
        gen = torch.Generator()
        gen.manual_seed(self.seed * 1_000_003 + epoch)
        if not self.modalities:
            return self._shuffle(list(range(self.n)), gen)
        blocks: list[list[int]] = []
        for kind in sorted(set(self.modalities)):
            idx = self._shuffle([i for i, m in enumerate(self.modalities) if m == kind], gen)
            short = -len(idx) % self.block
            if short:
                fill = torch.randint(len(idx), (short,), generator=gen).tolist()
                idx += [idx[j] for j in fill]
            blocks += [idx[i : i + self.block] for i in range(0, len(idx), self.block)]
        perm = torch.randperm(len(blocks), generator=gen).tolist()
        return [i for b in perm for i in blocks[b]]
