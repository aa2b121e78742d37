"""The VLM's passes through the speed layer (gdo.models.fast) give the plain path's values:
a media through the vision tower once for all its options and passes, encodings made once,
blind rows in their own passes, and the sampling prompt prefilled once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_models import clip, mixed_samples, model_cfg, sample, tiny_folder

from gdo.models import load_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tiny_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def vlm(folder):
    return load_model(model_cfg(), str(folder))


@pytest.fixture
def mixed() -> list[dict]:
    return mixed_samples()


def test_options_share_one_vision_pass(folder):
    """Encoding each sample's media once for all its options changes nothing but the time."""
    vlm = load_model(model_cfg(batch_size=3), str(folder))  # fewer rows than options
    vlm.shared_prompt = False  # one row per option (shared rows: tests/test_fast_paths.py)
    opts = ["red", "blue", "green", "yellow"]
    samples = [
        sample(clip("red", "blue", "green", "red"), options=opts),
        sample(np.concatenate([clip("red"), clip("blue")]), media_kind="image", options=opts[:2]),
        sample(None, options=opts[:3]),
        sample(clip("green"), options=opts),
    ]
    calls = []
    # Patches through the vision tower.
    hook = vlm.model.model.visual.register_forward_hook(lambda m, a, o: calls.append(len(a[0])))
    shared = vlm.score_options(samples)
    n_shared, calls[:] = sum(calls), []
    vlm.share_vision = False
    plain = vlm.score_options(samples)
    hook.remove()
    # 128 patches per clip / image pair, 64 per image. Plain: every option row encodes its
    # media (4*128 + 2*128 + 4*64); shared: once per sample.
    assert sum(calls) == 1024 and n_shared == 128 + 128 + 64
    for a, b in zip(shared, plain, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_one_processor_call_per_batch_equals_one_call_per_sample(vlm, mixed):
    """``prefetch`` processes a batch in one processor call, split back per sample."""
    enc = vlm.encoder
    items = [(s, *enc.media(s)) for s in mixed] + [(s, None, None) for s in mixed]  # + blind
    with vlm.reuse_encodings():
        enc.prefetch(items)
        cached = [enc._memo[enc._memo_key(enc._prompt(s, k, f), k, f, None)] for s, k, f in items]
    assert all(c[0] is f for c, (_, _, f) in zip(cached, items, strict=True))
    for (s, kind, frames), (_, got) in zip(items, cached, strict=True):
        want = enc._process(enc._prompt(s, kind, frames), kind, frames, None)
        # Prompts with media also carry their M-RoPE positions (gdo.models.fast.positions).
        assert ("rope_positions" in got) == (frames is not None)
        got = {k: v for k, v in got.items() if k != "rope_positions"}
        assert set(got) == {k for k in want if k != "attention_mask"}
        for key, value in got.items():
            torch.testing.assert_close(value, want[key], rtol=0, atol=0)


def test_reused_encodings_change_nothing(vlm, mixed):
    """Losses and generation inside ``reuse_encodings`` equal those outside it."""
    plain = vlm.losses(mixed), vlm.generate(mixed, max_new_tokens=4)
    calls = []
    original = vlm.encoder._process
    vlm.encoder._process = lambda *a: calls.append(1) or original(*a)
    try:
        with vlm.reuse_encodings():
            reused = vlm.losses(mixed), vlm.generate(mixed, max_new_tokens=4)
    finally:
        del vlm.encoder._process
    np.testing.assert_allclose(reused[0][0], plain[0][0], atol=1e-6)
    np.testing.assert_allclose(reused[0][1], plain[0][1], atol=1e-6)
    assert reused[1] == plain[1]
    assert calls == []  # one batched call per encoding pass, the prompts of generate reused


def test_blind_rows_are_not_padded_to_the_visual_length(folder, mixed):
    """A chunk's visual rows and blind rows fill their own passes (blind prompts are text
    only, far shorter); a lone sample's two rows share one pass. Losses do not change."""
    vlm = load_model(model_cfg(batch_size=len(mixed)), str(folder))
    shapes = []  # (rows, tokens) of every language-model pass
    lm = vlm.model.model.language_model
    hook = lm.register_forward_pre_hook(
        lambda m, a, k: shapes.append(tuple(k["inputs_embeds"].shape[:2])), with_kwargs=True
    )
    try:
        visual, blind = vlm.losses(mixed)
        together, shapes[:] = list(shapes), []
        alone = [vlm.losses([s]) for s in mixed]
    finally:
        hook.remove()
    blind_len = max(len(vlm.encoder.encode(s, True, s["answer"], False).input_ids) for s in mixed)
    assert [rows for rows, _ in together] == [4, 4]
    assert together[1][1] == blind_len < together[0][1]
    assert [rows for rows, _ in shapes] == [2] * len(mixed)
    np.testing.assert_allclose(visual, [v[0] for v, _ in alone], atol=1e-5)
    np.testing.assert_allclose(blind, [b[0] for _, b in alone], atol=1e-5)


def test_sampling_prefill_reuses_the_loss_pass_vision_features(folder, mixed):
    """Inside ``reuse_encodings`` the sampling prefill takes each media's vision features
    from the loss pass: the vision tower runs once per media, and nothing else changes."""
    vlm = load_model(model_cfg(), str(folder))
    kw = {"n": 3, "temperature": 1.0, "max_new_tokens": 5, "seed": 7}
    patches = []  # patch rows through the vision tower, per call
    hook = vlm.model.model.visual.register_forward_hook(lambda m, a, o: patches.append(len(a[0])))
    try:
        plain = vlm.losses(mixed), vlm.generate(mixed, **kw)
        n_plain, patches[:] = sum(patches), []
        with vlm.reuse_encodings():
            reused = vlm.losses(mixed), vlm.generate(mixed, **kw)
            stats = (vlm._features.hits, vlm._features.misses)
        n_reused, patches[:] = sum(patches), []
        vlm.reuse_vision = False
        with vlm.reuse_encodings():
            assert vlm._features is None
            off = vlm.losses(mixed), vlm.generate(mixed, **kw)
        n_off = sum(patches)
    finally:
        hook.remove()
    for got in (reused, off):
        np.testing.assert_allclose(got[0][0], plain[0][0], atol=1e-6)
        np.testing.assert_allclose(got[0][1], plain[0][1], atol=1e-6)
        assert got[1] == plain[1]
    # 3 media (video 4 frames, image, video 6 frames = 3 temporal patches): 128 + 64 + 192
    # patch rows, once for the loss pass and once more for the prefill unless reused.
    assert n_reused == 384 and n_plain == n_off == 2 * 384
    assert stats == (3, 3)  # three misses in the loss pass, three hits in the prefill


def test_sampling_prefills_each_prompt_once(folder, mixed):
    """n samples per prompt from one prefill (KV cache repeated) equal HF's n prefills."""
    vlm = load_model(model_cfg(), str(folder))
    kw = {"n": 3, "temperature": 1.0, "max_new_tokens": 6, "seed": 5}
    rows = []  # (batch rows, tokens) of every language-model pass
    lm = vlm.model.model.language_model
    hook = lm.register_forward_pre_hook(
        lambda m, a, k: rows.append(tuple(k["inputs_embeds"].shape[:2])), with_kwargs=True
    )
    once = vlm.generate(mixed, **kw)
    prefill_once, rows[:] = rows[0], []
    vlm.prefill_once = False
    plain = vlm.generate(mixed, **kw)
    hook.remove()
    assert once == plain
    # The prompts ran once (all but their last token), not once per sample.
    assert prefill_once[0] == len(mixed) and rows[0][0] == 3 * len(mixed)
    assert prefill_once[1] == rows[0][1] - 1
