"""Seeding: one seed, ``seed + rank`` locally (torchtune's convention)."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int, per_rank: bool = True) -> int:
    rank = int(os.environ.get("RANK", "0")) if per_rank else 0
    s = int(seed) + rank
    random.seed(s)
    np.random.seed(s % (2**32))
    try:
        import torch

        torch.manual_seed(s)
    except ImportError:  # pragma: no cover
        pass
    return s
