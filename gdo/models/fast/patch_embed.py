"""The vision patch embedding as one matrix product (switch: ``model.linear_patch_embed``).

Qwen2-VL and Qwen3-VL embed each (temporal x patch x patch) pixel block with a ``Conv3d``
whose kernel equals its stride and the block: every output is one dot product of a
flattened block with a flattened kernel, i.e. a linear layer. On CPU the oneDNN
convolution builds a new primitive for each new batch shape (every evaluation or training
batch has its own patch count), which cost more than the product itself (the tiny model:
~7 ms per 16-video batch vs ~0.3 ms). Here the ``Conv3d`` instances of such blocks compute
``x.flatten(1) @ weight.flatten(1).T`` instead: same weights and parameter names (the
checkpoints do not change), same outputs up to float rounding (tests check equality, with
gradients). Input that is not exactly one block per row goes through the convolution.

A patch of transformers internals: its entry ``linear_patch_embed`` in
:data:`gdo.models.fast.patch_guard.PATCHES`
names the release it was written against, and another release is refused.
"""

from __future__ import annotations

from typing import Any

import torch

from gdo.models.fast.instance_patch import patch_forward
from gdo.models.fast.patch_guard import check_patch


def _linear_forward(self: torch.nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 5 or tuple(x.shape[2:]) != tuple(self.kernel_size):
        return type(self).forward(self, x)
    flat = torch.nn.functional.linear(x.flatten(1), self.weight.flatten(1), self.bias)
    return flat.view(x.shape[0], self.out_channels, 1, 1, 1)


def _is_block_embedding(module: Any) -> bool:
    return (
        isinstance(module, torch.nn.Conv3d)
        and tuple(module.stride) == tuple(module.kernel_size)
        and tuple(module.padding) == (0, 0, 0)
        and tuple(module.dilation) == (1, 1, 1)
        and module.groups == 1
    )


def patch_linear_patch_embed(model: Any, enabled: bool = True) -> int:
    """Compute the block-embedding ``Conv3d`` modules of ``model`` as linear layers
    (``enabled``) or restore them; returns the number of modules changed."""
    if enabled:
        check_patch("linear_patch_embed")
    return patch_forward(model, _is_block_embedding, _linear_forward, enabled=enabled)
