"""gdo's patches of transformers internals, and the release each was written against.

For speed, gdo replaces a few pieces of transformers (each equality-tested against the
stock path). Internals change between releases without notice, so each patch names the
transformers release (major.minor) it was written and tested against, and refuses to run
on another one with a :class:`ConfigError` that names the patch, both versions, its test
and the switch that turns it off, instead of computing something else silently. Moving
to a new transformers release: run the patch's tests there, then update its entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from gdo.utils.errors import ConfigError


@dataclass(frozen=True)
class Patch:
    """One replacement of a transformers internal."""

    module: str  # the gdo module that patches
    replaces: str  # what of transformers it replaces or relies on
    written_for: str  # transformers major.minor it was written and tested against
    test: str  # the equality tests to run on a new release
    switch: str | None = None  # the config key that turns it off, if any


PATCHES: dict[str, Patch] = {
    "fast_vision_attention": Patch(
        "gdo.models.fast.vision_attention",
        "Qwen2-VL VisionAttention.forward (one SDPA call for all frame pairs)",
        "5.25",
        "tests/test_fast_attention.py",
        "model.fast_vision_attention",
    ),
    "linear_patch_embed": Patch(
        "gdo.models.fast.patch_embed",
        "the vision PatchEmbed's Conv3d forward (one matrix product)",
        "5.25",
        "tests/test_fast_paths.py",
        "model.linear_patch_embed",
    ),
    "pack_sequences": Patch(
        "gdo.models.fast.packing",
        "Qwen2VLTextModel.forward and an SDPA attention function (padding-free rows)",
        "5.25",
        "tests/test_fast_paths.py",
        "model.pack_sequences",
    ),
    "reserved_kv_cache": Patch(
        "gdo.models.fast.kv_cache",
        "cache_utils.DynamicLayer's keys / values (buffers written in place)",
        "5.25",
        "tests/test_fast_prepared.py",
    ),
    "rope_positions": Patch(
        "gdo.models.fast.positions",
        "Qwen2-VL / Qwen3-VL get_rope_index (positions assembled from made ones)",
        "5.25",
        "tests/test_fast_prepared.py, tests/test_fast_reuse.py, tests/test_models_qwen3.py",
    ),
    "prefill_once": Patch(
        "gdo.models.fast.prefill",
        "generate continuing from a given KV cache, and Qwen-VL's rope_deltas",
        "5.25",
        "tests/test_fast_prepared.py, tests/test_fast_reuse.py",
    ),
    "shared_prompt_rows": Patch(
        "gdo.models.fast.shared_prefix",
        "Qwen-VL's model forward taking a 4D attention mask and 3D position_ids",
        "5.25",
        "tests/test_fast_paths.py",
        "model.shared_prompt_options",
    ),
    "vision_features": Patch(
        "gdo.models.fast.shared_vision",
        "Qwen-VL's mm_encoder_outputs argument and get_image/video_features' outputs",
        "5.25",
        "tests/test_fast_reuse.py, tests/test_fast_paths.py",
    ),
}


@cache
def installed_version() -> str:
    """The installed transformers' major.minor (``5.25`` for ``5.25.0``)."""
    from importlib.metadata import version

    return ".".join(version("transformers").split(".")[:2])


def check_patch(name: str) -> None:
    """Refuse to apply patch ``name`` on a transformers release it was not written for."""
    patch = PATCHES[name]
    have = installed_version()
    if have == patch.written_for:
        return
    off = (
        f"turn it off with {patch.switch}=false"
        if patch.switch
        else "install the release it was written for (constraints.txt)"
    )
    raise ConfigError(
        f"{patch.module} replaces transformers' {patch.replaces}, written against "
        f"transformers {patch.written_for}; this is transformers {have}: run "
        f"{patch.test} on it and update {name} in gdo/models/fast/patch_guard.py, or {off}"
    )
