"""Where and how a stage runs the model: one rule for describe, train and evaluate.

``model.device``: ``auto`` (``cuda:$LOCAL_RANK`` when CUDA is available, else ``cpu``),
``cpu``, ``cuda`` (``cuda:$LOCAL_RANK``; an error without CUDA) or an explicit ``cuda:N``.
``model.dtype: auto`` is bfloat16 on CUDA and float32 on CPU; ``model.attn_implementation:
auto`` is flash-attention 2 on CUDA when the ``flash_attn`` package is installed, else SDPA.
Explicit values are used as given.
"""

from __future__ import annotations

import importlib.util
import os

from gdo.utils.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16", "float16")
ATTENTIONS = ("auto", "sdpa", "eager", "flash_attention_2")


def resolve_device(setting: str | None = "auto") -> str:
    """The torch device string for ``model.device`` on this rank."""
    import torch

    setting = str(setting or "auto")
    if setting not in DEVICES and not setting.startswith("cuda:"):
        raise ConfigError(f"model.device={setting}: expected one of {', '.join(DEVICES)} or cuda:N")
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if not torch.cuda.is_available():
        raise ConfigError(f"model.device={setting} but CUDA is not available on this machine")
    if setting.startswith("cuda:"):
        return setting
    return f"cuda:{int(os.environ.get('LOCAL_RANK', '0') or 0)}"


def resolve_dtype(setting: str | None, device: str) -> str:
    """``model.dtype`` for a model on ``device`` (``auto``: bfloat16 on CUDA, else float32)."""
    setting = str(setting or "auto")
    if setting not in DTYPES:
        raise ConfigError(f"model.dtype={setting!r}: expected one of {', '.join(DTYPES)}")
    if setting != "auto":
        return setting
    return "bfloat16" if device.startswith("cuda") else "float32"


def flash_attention_installed() -> bool:
    """Whether the ``flash_attn`` package (flash-attention 2) can be imported."""
    return importlib.util.find_spec("flash_attn") is not None


def resolve_attention(setting: str | None, device: str) -> str:
    """``model.attn_implementation`` for ``device`` (``auto``: flash-attention 2 on CUDA when
    installed, else sdpa)."""
    setting = str(setting or "auto")
    if setting not in ATTENTIONS:
        raise ConfigError(
            f"model.attn_implementation={setting!r}: expected one of {', '.join(ATTENTIONS)}"
        )
    if setting != "auto":
        return setting
    if device.startswith("cuda") and flash_attention_installed():
        return "flash_attention_2"
    return "sdpa"
