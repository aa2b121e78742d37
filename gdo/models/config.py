"""Schema of ``conf/model/*.yaml`` (the VLM behind describe / train / evaluate). Owned by gdo.models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Settings that change where and how fast a stage runs the model, not what it computes:
# left out of the stages' content keys, so switching them reuses finished work.
RUNTIME_KEYS = (
    "device", "batch_size", "fast_vision_attention", "linear_patch_embed", "pack_sequences",
    "shared_prompt_options",
)  # fmt: skip


@dataclass
class TinyConf:
    """Sizes of the random-init tiny Qwen2-VL (``gdo.models.build_tiny``).

    Defaults follow the earlier probes (experiments/calibration/README.md, "Earlier
    probes"): ~0.5M parameters, patch 4 on 32x32 frames.
    """

    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    rope_theta: float = 1000000.0
    max_position_embeddings: int = 2048
    vision_embed_dim: int = 64
    vision_depth: int = 2
    vision_num_heads: int = 4
    vision_mlp_ratio: float = 2.0
    patch_size: int = 4
    spatial_merge_size: int = 2
    temporal_patch_size: int = 2
    # Seed of the random initialisation, so a rebuilt base model is the same model.
    seed: int = 0


@dataclass
class ModelConf:
    """Which VLM, how it is loaded and how samples become model inputs."""

    name: str = "tiny_qwen2vl"
    # A local save_pretrained folder or a hub id; null = the caller passes the path
    # (the tiny model is built by the pretrain stage into its own folder).
    path: str | None = None
    # Where describe, train and evaluate run it: auto (cuda:$LOCAL_RANK when CUDA is
    # available, else cpu) | cpu | cuda | cuda:N (gdo.models.device).
    device: str = "auto"
    # float32 | bfloat16 | float16 | auto (bfloat16 on CUDA, float32 on CPU)
    dtype: str = "auto"
    # sdpa | eager | flash_attention_2 | auto (flash_attention_2 on CUDA when the flash_attn
    # package is installed, else sdpa)
    attn_implementation: str = "auto"
    # Frames sampled per video, and the pixel budget per frame (H*W after resizing).
    frames: int = 4
    max_pixels: int = 1024
    min_pixels: int | None = None
    # Longest token sequence; longer samples lose frames first, then raise SampleTooLong.
    max_length: int = 1024
    min_frames: int = 2
    # Samples per forward pass in loss / generate / score_options.
    batch_size: int = 16
    system_prompt: str = "You are a helpful assistant."
    # Batch the CPU vision attention's per-frame-pair SDPA calls into one (equality-tested).
    fast_vision_attention: bool = True
    # The vision patch embedding (a Conv3d over whole pixel blocks) as one matrix product:
    # same weights and outputs, no per-shape oneDNN setup (equality-tested).
    linear_patch_embed: bool = True
    # Right-padded batches (training, loss passes) run the language model on their real
    # tokens only; attention restores the rows (gdo.models.fast.packing, equality-tested).
    # Qwen2-VL with sdpa attention; other models take the stock path.
    pack_sequences: bool = True
    # score_options: each question's prompt once with all its options in one row (a 4D
    # attention mask keeps the options apart; equality-tested against one row per option).
    # Needs sdpa or eager attention; other models and attentions use one row per option.
    shared_prompt_options: bool = True
    tiny: TinyConf = field(default_factory=TinyConf)


def model_key(model_cfg: Any) -> dict[str, Any]:
    """``model.*`` as a plain dict for a stage's content key, without :data:`RUNTIME_KEYS`."""
    from omegaconf import OmegaConf

    plain = (
        OmegaConf.to_container(model_cfg, resolve=True)
        if OmegaConf.is_config(model_cfg)
        else dict(model_cfg)
    )
    return {k: v for k, v in plain.items() if k not in RUNTIME_KEYS}
