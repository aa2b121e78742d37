"""Work describe does ahead of or around the model passes, on the tiny Qwen2-VL: prompts
encoded in another thread, M-RoPE positions made once per prompt, padded batches, the KV
cache's reserved room and SC's seeded draws. Each must change nothing but the time."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from test_models import TEXTS, clip, model_cfg, sample

from gdo.models import build_tiny, load_model, vocabulary_from_texts
from gdo.models.fast.positions import assemble, rope_from
from gdo.models.inputs import IGNORE, Encoded, pad_batch

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_tiny(
        model_cfg(), tmp_path_factory.mktemp("tiny") / "model", vocabulary_from_texts(TEXTS)
    )


@pytest.fixture
def vlm(folder):
    return load_model(model_cfg(), str(folder))


def rows() -> list[dict]:
    """Video, image, text-only and a second video of another length (one frames array each)."""
    return [
        sample(clip("red", "blue", "blue", "red"), answer="red", uid="a"),
        sample(clip("green"), question="What colour appears first?", answer="green blue", uid="b"),
        sample(None, answer="yellow", uid="c"),
        sample(clip("blue", "blue", "green", "red", "red", "red"), answer="blue", uid="d"),
    ]


def made_in_a_thread(vlm, samples) -> dict:
    out = {}
    worker = threading.Thread(target=lambda: out.update(made=vlm.prepare_encodings(samples)))
    worker.start()
    worker.join()
    return out["made"]


def test_pad_batch_matches_a_row_by_row_reference() -> None:
    rng = np.random.default_rng(0)
    items = []
    for size, n_target in ((5, 2), (1, 0), (9, 9), (3, 1)):
        ids = rng.integers(1, 50, size).tolist()
        items.append(Encoded(ids, rng.integers(0, 3, size).tolist(), n_target, {}, 0))
    for side in ("left", "right"):
        got = pad_batch(items, pad_id=0, side=side)
        for row, e in enumerate(items):
            n, pad = len(e.input_ids), 9 - len(e.input_ids)
            span = slice(pad, 9) if side == "left" else slice(0, n)
            ids = torch.zeros(9, dtype=torch.long)
            ids[span] = torch.tensor(e.input_ids)
            labels = torch.full((9,), IGNORE)
            if e.n_target:
                labels[span.stop - e.n_target : span.stop] = ids[span.stop - e.n_target : span.stop]
            assert torch.equal(got["input_ids"][row], ids)
            assert torch.equal(got["labels"][row], labels)
            assert got["attention_mask"][row].tolist() == [int(span.start <= k < span.stop)
                                                            for k in range(9)]  # fmt: skip
            assert got["mm_token_type_ids"][row][span].tolist() == e.mm_token_type_ids
            assert got["input_ids"].dtype == got["attention_mask"].dtype == torch.long


def test_encodings_made_in_another_thread_are_the_models_own(vlm) -> None:
    """Prompts encoded by ``prepare_encodings`` (a processor copy, another thread) serve
    the loss pass and the sampling prompts: no processor call is left for them, and the
    losses and the sampled answers are those of the model's own encoding."""
    kw = {"n": 3, "temperature": 1.0, "max_new_tokens": 5, "seed": 3}
    samples = rows()
    with vlm.reuse_encodings():
        plain = vlm.losses(samples), vlm.generate(samples, **kw)
    made = made_in_a_thread(vlm, samples)
    assert vlm._detached.processor is not vlm.processor
    calls = []
    real = vlm.encoder._process
    vlm.encoder._process = lambda *a: calls.append(a) or real(*a)
    try:
        with vlm.reuse_encodings(made):
            got = vlm.losses(samples), vlm.generate(samples, **kw)
    finally:
        del vlm.encoder._process
    assert calls == []
    np.testing.assert_array_equal(got[0][0], plain[0][0])
    np.testing.assert_array_equal(got[0][1], plain[0][1])
    assert got[1] == plain[1]
    # A sample whose media cannot be read is left out (the model's call raises it).
    assert made_in_a_thread(vlm, [{**samples[0], "frames": np.zeros((2, 3))}]) == {}


def test_rope_positions_made_ahead_equal_transformers(vlm) -> None:
    """Assembled positions and deltas equal transformers' ``get_rope_index`` for left- and
    right-padded batches of prompts with and without answers, and prompt prefixes."""
    core = vlm.model.model
    hf = type(core).get_rope_index
    samples = rows()
    made = made_in_a_thread(vlm, samples)
    with vlm.reuse_encodings(made):
        jobs = [(i, s, False, s["answer"], False) for i, s in enumerate(samples)]
        answered = vlm._encode_all(jobs)
        prompts = vlm._encode_all([(i, s, False, None, False) for i, s in enumerate(samples)])
    assert [e.positions is not None for e in answered] == [True, True, False, True]
    for items, side, cut in ((answered, "right", 0), (prompts, "left", 0), (prompts, "left", 1)):
        batch = pad_batch(items, vlm.pad_id, side)
        keys = ("input_ids", "attention_mask", "mm_token_type_ids")
        ids, mask, types = (batch[k][:, : batch[k].shape[1] - cut] for k in keys)
        want = hf(core, ids, mm_token_type_ids=types, attention_mask=mask,
                  image_grid_thw=batch["image_grid_thw"], video_grid_thw=batch["video_grid_thw"])  # fmt: skip
        got = assemble(items, ids, mask)
        assert got is not None
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    # A row with media but no positions made ahead: transformers computes the batch.
    bare = [Encoded(e.input_ids, e.mm_token_type_ids, e.n_target, e.vision, 0) for e in answered]
    assert assemble(bare, *(pad_batch(bare, 0)[k] for k in ("input_ids", "attention_mask"))) is None


def test_passes_inside_rope_from_do_not_recompute_positions(vlm, monkeypatch) -> None:
    samples = rows()
    kw = {"n": 2, "temperature": 1.0, "max_new_tokens": 3, "seed": 1}
    with vlm.reuse_encodings():
        plain = vlm.losses(samples), vlm.generate(samples, **kw)
    made = made_in_a_thread(vlm, samples)
    core = vlm.model.model
    real = type(core).get_rope_index
    calls = []
    monkeypatch.setattr(
        type(core), "get_rope_index", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    with vlm.reuse_encodings(made):
        got = vlm.losses(samples), vlm.generate(samples, **kw)
    assert calls == []  # the loss pass and the sampling prefill assembled theirs
    np.testing.assert_array_equal(got[0][0], plain[0][0])
    assert got[1] == plain[1]
    with vlm.reuse_encodings():  # made on the model's thread: once per prompt with media
        vlm.losses(samples)
        vlm.generate(samples, **kw)
    assert len(calls) == 3
    calls.clear()
    vlm.collate(samples)  # training batches: no positions made for passes that never come
    assert calls == [] and vlm.encoder.annotate is None
    with rope_from(core, []):
        assert "get_rope_index" not in vars(core)


def test_reserved_kv_room_gives_the_concatenated_values(vlm, monkeypatch) -> None:
    from transformers import DynamicCache

    from gdo.models.fast import kv_cache, prefill

    torch.manual_seed(0)
    plain, reserved = DynamicCache(), DynamicCache()
    first = torch.randn(2, 2, 5, 4), torch.randn(2, 2, 5, 4)
    plain.update(*first, 0)
    reserved.update(*first, 0)
    assert kv_cache.reserve(reserved, 3) == 1
    rows_now = 2
    for step in range(6):  # past the reserved room too
        new = torch.randn(rows_now, 2, 1, 4), torch.randn(rows_now, 2, 1, 4)
        want, got = plain.update(*new, 0), reserved.update(*new, 0)
        assert torch.equal(want[0], got[0]) and torch.equal(want[1], got[1])
        if step == 2:  # another cache method replaces the tensors: still right after it
            plain.batch_select_indices(torch.tensor([1]))
            reserved.batch_select_indices(torch.tensor([1]))
            rows_now = 1
    # Repeated for n samples and given room in one copy: the repeated cache's values.
    plain, fused = DynamicCache(), DynamicCache()
    plain.update(*first, 0)
    fused.update(*first, 0)
    plain.batch_repeat_interleave(3)
    kv_cache.repeat_and_reserve(fused, 3, room=2)
    assert type(fused.layers[0]) is kv_cache.ReservedLayer
    for _ in range(3):
        new = torch.randn(6, 2, 1, 4), torch.randn(6, 2, 1, 4)
        want, got = plain.update(*new, 0), fused.update(*new, 0)
        assert torch.equal(want[0], got[0]) and torch.equal(want[1], got[1])
    kw = {"n": 3, "temperature": 1.0, "max_new_tokens": 6, "seed": 4}
    samples = rows()
    once = vlm.generate(samples, **kw)
    monkeypatch.setattr(
        prefill, "repeat_and_reserve", lambda cache, n, room: cache.batch_repeat_interleave(n)
    )
    assert vlm.generate(samples, **kw) == once


def test_sc_draws_and_greedy_pick_equal_hf_sampling(vlm, monkeypatch) -> None:
    """The sampler's uniforms, drawn 32 at a time, are the ones it drew one per step; and
    picking its one-hot token greedily gives HF sampling's answers without a multinomial."""
    import gdo.descriptors.self_consistency as sc_module
    from gdo.descriptors.context import BatchContext
    from gdo.descriptors.self_consistency import SeededSampler, SelfConsistency

    sampler = SeededSampler([11, 12], n=2, temperature=1.0, top_p=0.9)
    generators = [torch.Generator().manual_seed(g.initial_seed()) for g in sampler.generators]
    for _ in range(40):  # past one block of draws
        want = torch.cat([torch.rand(1, generator=g) for g in generators])
        assert torch.equal(sampler._next_uniforms(4), want)

    sc = SelfConsistency(n=4, max_new_tokens=6)
    samples = rows()
    draws = []
    real = torch.multinomial
    monkeypatch.setattr(torch, "multinomial", lambda *a, **k: draws.append(1) or real(*a, **k))
    greedy = sc._sample(BatchContext(samples, vlm, seed=5), samples)
    assert draws == []
    monkeypatch.setattr(sc_module, "PICK_GREEDILY", False)
    sampled = sc._sample(BatchContext(samples, vlm, seed=5), samples)
    assert draws  # HF's own sampling ran
    assert greedy == sampled
    assert len({a for answers in greedy for a in answers}) > 1


def test_describe_prefetch_encodes_on_whichever_thread_is_free(tmp_path, cfg_factory, monkeypatch):
    """With ``descriptors.prefetch_inputs`` a thread encodes the next batches' model inputs
    (prompts, pixels, positions), unless a batch is due before it started them: then the
    model's calls encode it. Each batch is encoded once, and the rows equal those of
    prefetch 0 either way."""
    import time

    import pandas as pd
    from test_descriptors_helpers import make_pool

    from gdo.descriptors.registry import build
    from gdo.descriptors.stage import POOL_FIELDS, describe_batches, plain_row
    from gdo.models.inputs import SampleEncoder

    cfg = cfg_factory("descriptors.specs.self_consistency.n=3",
                      "descriptors.specs.self_consistency.max_new_tokens=4")  # fmt: skip
    pool = make_pool(tmp_path / "work", n=12)
    vocab = vocabulary_from_texts([*pool.question, *pool.answer])
    model = load_model(cfg.model, str(build_tiny(cfg.model, tmp_path / "m", vocab)))
    records = [plain_row(r) for r in pool[list(POOL_FIELDS[:-2])].to_dict("records")]
    chunks = [records[k : k + 4] for k in range(0, len(records), 4)]
    items = build(cfg.descriptors.specs)
    calls = []  # (thread, the model's own encoder?) of each batched processor call
    real_process = SampleEncoder._process_many

    def spy(self, *args):
        calls.append((threading.current_thread().name, self is model.encoder))
        return real_process(self, *args)

    def run(prefetch: int, ahead: bool = True, workers: int = 0) -> pd.DataFrame:
        calls.clear()
        got = describe_batches(
            chunks, items, model, 0, 8, prefetch, prefetch_inputs=ahead, workers=workers
        )
        return pd.DataFrame([r for batch in got for r in batch])

    monkeypatch.setattr(SampleEncoder, "_process_many", spy)
    ref = run(0)
    assert calls == [("MainThread", True)] * len(chunks)
    pd.testing.assert_frame_equal(run(1, ahead=False), ref)  # media ahead, inputs not
    assert calls == [("MainThread", True)] * len(chunks)
    assert (ref.status == "failed").sum() == 1
    assert ref.sc.notna().sum() == 11 and ref.vds.notna().sum() == 11

    # The model is slow: the thread is ahead and encodes every batch but the first (due
    # at once), on its own processor copy.
    real_losses = model.losses
    monkeypatch.setattr(model, "losses", lambda rows: time.sleep(1.0) or real_losses(rows))
    pd.testing.assert_frame_equal(run(1), ref)
    worker = [("describe-prefetch_0", False)] * (len(chunks) - 1)
    assert sorted(calls) == sorted([("MainThread", True), *worker])
    monkeypatch.setattr(model, "losses", real_losses)

    # The media work in worker processes: the same rows, each batch encoded once.
    pd.testing.assert_frame_equal(run(1, workers=2), ref)
    assert len(calls) == len(chunks)


def test_prefetch_inputs_auto_is_on_with_an_accelerator_only(cfg_factory) -> None:
    from types import SimpleNamespace

    from gdo.descriptors.stage import prefetch_inputs

    cpu, gpu = (SimpleNamespace(device=torch.device(d)) for d in ("cpu", "cuda"))
    auto = cfg_factory()
    assert auto.descriptors.prefetch_inputs is None
    assert not prefetch_inputs(auto, cpu) and prefetch_inputs(auto, gpu)
    assert not prefetch_inputs(auto, object())  # a model that names no device: CPU
    assert prefetch_inputs(cfg_factory("descriptors.prefetch_inputs=true"), cpu)
    assert not prefetch_inputs(cfg_factory("descriptors.prefetch_inputs=false"), gpu)
