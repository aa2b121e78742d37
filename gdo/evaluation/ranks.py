"""``gdo evaluate`` on several ranks (torchrun): each rank scores its own questions.

A question's answer depends on the question and the checkpoint only, so the questions of
each (checkpoint, suite) are dealt out to the ranks (rank ``r`` of ``W`` takes rows
``r, r + W, ...``), every rank scores its share, and rank 0 puts the answers back in row
order before writing: 1 rank and N ranks write the same tables. Rank 0 alone decides what
is stale and writes every file; the others follow its decisions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from gdo.evaluation.predict import Predictions


@dataclass(frozen=True)
class Ranks:
    """This process's place among the evaluating processes."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def rows(self, n: int) -> list[int]:
        """The question rows (of ``n``) this rank scores."""
        return list(range(self.rank, n, self.world))

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, part: Predictions, n: int) -> Predictions | None:
        """Every rank's predictions (for :meth:`rows`) merged in row order on rank 0;
        None on the other ranks."""
        parts = [part]
        if self.world > 1:
            import torch.distributed as dist

            parts = [None] * self.world
            dist.all_gather_object(parts, part)
        if not self.main:
            return None
        return merge(parts, n)


def merge(parts: list[Predictions], n: int) -> Predictions:
    """Predictions of rank ``r`` (rows ``r::len(parts)``) merged into row order."""
    world = len(parts)
    answers, scores, skipped = [""] * n, [[] for _ in range(n)], [""] * n
    counts: dict[str, int] = {}
    for r, part in enumerate(parts):
        for k, row in enumerate(range(r, n, world)):
            answers[row] = part.answers[k]
            scores[row] = part.option_scores[k]
            skipped[row] = part.skipped[k]
        for key, value in part.counts.items():
            # The batch size a back-off settled on: the smallest; everything else adds up.
            merged = min if key == "batch_size" else sum
            counts[key] = merged([counts[key], value]) if key in counts else value
    return Predictions(answers=answers, option_scores=scores, skipped=skipped, counts=counts)


def join(device: str) -> Ranks:
    """This process's :class:`Ranks`: the torchrun group (joined here when the environment
    names one and none is open yet: NCCL on CUDA, gloo on CPU), else one rank."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return Ranks()
    if not dist.is_initialized():
        if device.startswith("cuda"):
            import torch

            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size())
