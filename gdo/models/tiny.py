"""The CPU default model: a random-init tiny Qwen2-VL with a local word-level tokenizer.

``build_tiny`` writes a folder that ``load_model`` reads through the same ``from_pretrained``
path a real checkpoint takes. Only the vocabulary is special: a word-level tokenizer (built
with ``tokenizers``) over the words the caller's data uses, plus Qwen2-VL's special tokens and
the real Qwen2-VL chat template, so prompts look like a real model's.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gdo.models.video import IMAGE_CONFIG, VIDEO_CONFIG, FramesVideoProcessor
from gdo.utils.io import atomic_write_json, atomic_write_text

PAD, UNK = "<|endoftext|>", "<unk>"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END = "<|vision_start|>", "<|vision_end|>"
IMAGE_PAD, VIDEO_PAD = "<|image_pad|>", "<|video_pad|>"
SPECIAL_TOKENS = [PAD, UNK, IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD]

# The chat template of Qwen2-VL-*-Instruct (verbatim), so the tiny prompts have the real layout.
QWEN2VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Words the template and the default system prompt produce, option letters and digits.
TEMPLATE_WORDS = [
    *"system user assistant You are a helpful . Picture Video :".split(),
    *"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    *"0123456789",
]


def _pre_tokenizer() -> Any:
    from tokenizers import pre_tokenizers

    # Words split on whitespace, each punctuation character its own token ("colour?" -> 2).
    return pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("isolated")]
    )


def vocabulary_from_texts(texts: Iterable[str]) -> list[str]:
    """The word-level tokens of ``texts`` (first-seen order) as the tiny tokenizer splits them."""
    pre = _pre_tokenizer()
    seen: dict[str, None] = {}
    for text in texts:
        for word, _ in pre.pre_tokenize_str(str(text)):
            seen.setdefault(word, None)
    return list(seen)


def build_tokenizer(vocabulary: Iterable[str]) -> Any:
    """A ``PreTrainedTokenizerFast`` over special tokens + template words + ``vocabulary``."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for token in [*SPECIAL_TOKENS, *TEMPLATE_WORDS, *vocabulary]:
        vocab.setdefault(str(token), len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = _pre_tokenizer()
    # Joins words with spaces and glues punctuation back ("red ." -> "red.").
    core.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token=UNK,
        pad_token=PAD,
        eos_token=IM_END,
        additional_special_tokens=SPECIAL_TOKENS[2:],
        padding_side="right",
        model_max_length=1 << 20,
    )
    tokenizer.chat_template = QWEN2VL_CHAT_TEMPLATE
    return tokenizer


def tiny_config(model_cfg: Any, tokenizer: Any) -> Any:
    """The ``Qwen2VLConfig`` of the tiny model (sizes from ``model_cfg.tiny``)."""
    from transformers import Qwen2VLConfig

    t = model_cfg.tiny
    head_dim = int(t.hidden_size) // int(t.num_attention_heads)
    # M-RoPE splits head_dim/2 frequencies into (time, height, width); Qwen uses 2:3:3.
    half = head_dim // 2
    t_sec = half // 4
    h_sec = (half - t_sec) // 2
    mrope_section = [t_sec, h_sec, half - t_sec - h_sec]
    ids = tokenizer.convert_tokens_to_ids
    return Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": int(t.hidden_size),
            "intermediate_size": int(t.intermediate_size),
            "num_hidden_layers": int(t.num_hidden_layers),
            "num_attention_heads": int(t.num_attention_heads),
            "num_key_value_heads": int(t.num_key_value_heads),
            "max_position_embeddings": int(t.max_position_embeddings),
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": float(t.rope_theta),
                "mrope_section": mrope_section,
            },
            "bos_token_id": ids(IM_START),
            "eos_token_id": ids(IM_END),
            "pad_token_id": ids(PAD),
        },
        vision_config={
            "depth": int(t.vision_depth),
            "embed_dim": int(t.vision_embed_dim),
            "hidden_size": int(t.hidden_size),
            "mlp_ratio": int(t.vision_mlp_ratio),
            "num_heads": int(t.vision_num_heads),
            "patch_size": int(t.patch_size),
            "spatial_merge_size": int(t.spatial_merge_size),
            "temporal_patch_size": int(t.temporal_patch_size),
        },
        image_token_id=ids(IMAGE_PAD),
        video_token_id=ids(VIDEO_PAD),
        vision_start_token_id=ids(VISION_START),
        vision_end_token_id=ids(VISION_END),
        tie_word_embeddings=False,
    )


def build_tiny(model_cfg: Any, out_dir: str | Path, vocabulary: list[str]) -> Path:
    """Build the tiny Qwen2-VL (sizes from ``model_cfg.tiny``) and ``save_pretrained`` it.

    Writes model, word-level tokenizer (``vocabulary`` + Qwen2-VL special tokens + the chat
    template's words), chat template and processor to ``out_dir``; returns ``out_dir``, which
    ``load_model(model_cfg, out_dir)`` loads back (an existing ``out_dir`` is replaced). The weights are a seeded random init
    (``model_cfg.tiny.seed``), so the same config and vocabulary give the same model.
    """
    import torch
    from transformers import Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    final = Path(out_dir)
    # Built beside the target and renamed into place, so a folder is never half-written.
    out = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t = model_cfg.tiny
    tokenizer = build_tokenizer(vocabulary)
    config = tiny_config(model_cfg, tokenizer)
    with torch.random.fork_rng():
        torch.manual_seed(int(t.seed))
        model = Qwen2VLForConditionalGeneration(config)
    pixels = int(model_cfg.max_pixels)
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=int(t.patch_size),
        merge_size=int(t.spatial_merge_size),
        temporal_patch_size=int(t.temporal_patch_size),
        min_pixels=int(model_cfg.min_pixels or pixels),
        max_pixels=pixels,
    )
    video_processor = FramesVideoProcessor(
        patch_size=int(t.patch_size),
        temporal_patch_size=int(t.temporal_patch_size),
        merge_size=int(t.spatial_merge_size),
        min_pixels=int(model_cfg.min_pixels or pixels),
        max_pixels=pixels,
    )
    model.save_pretrained(out)
    # The files a real Qwen2-VL checkpoint has: tokenizer, chat template, image and video
    # preprocessor configs naming the stock classes (used as-is where torchvision exists).
    tokenizer.save_pretrained(out)
    image_processor.save_pretrained(out)
    config_path = out / IMAGE_CONFIG
    image_cfg = json.loads(config_path.read_text())
    image_cfg["processor_class"] = "Qwen2VLProcessor"
    atomic_write_json(config_path, image_cfg)
    atomic_write_json(out / VIDEO_CONFIG, video_processor.to_dict())
    atomic_write_json(out / "processor_config.json", {"processor_class": "Qwen2VLProcessor"})
    atomic_write_text(out / "chat_template.jinja", QWEN2VL_CHAT_TEMPLATE)
    if final.exists():
        shutil.rmtree(final)
    out.rename(final)
    return final
