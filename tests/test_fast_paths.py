"""The model-execution shortcuts give the results of the plain path: options scored in
shared rows, the linear patch embedding, packed (padding-free) language-model passes, and
training batches from encodings made once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_models import TEXTS, clip, model_cfg, sample

from gdo.models import SampleTooLong, build_tiny, load_model, vocabulary_from_texts
from gdo.models.fast.packing import patch_packed_sequences
from gdo.models.fast.patch_embed import patch_linear_patch_embed
from gdo.models.fast.shared_prefix import mask_sized, shared_rows_supported

torch.set_num_threads(1)
OPTIONS = ["red", "blue", "green", "yellow"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = build_tiny(
        model_cfg(), tmp_path_factory.mktemp("tiny") / "model", vocabulary_from_texts(TEXTS)
    )
    # Larger random weights than the initialisation, so option scores differ clearly.
    model = load_model(model_cfg(), str(folder)).model
    with torch.no_grad():
        torch.manual_seed(1)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    model.save_pretrained(folder)
    return folder


def questions() -> list[dict]:
    """Video, image pair, text-only and a truncated long clip; 2-4 options, multi-token ones."""
    return [
        sample(clip("red", "blue", "green", "red"), options=OPTIONS),
        sample(np.concatenate([clip("red"), clip("blue")]), media_kind="image", options=OPTIONS[:2]),
        sample(None, options=OPTIONS[:3]),
        sample(clip("green"), options=OPTIONS),
        sample(clip("blue", "blue", "green", "red", "red", "red"), options=["red blue", "green"]),
    ]  # fmt: skip


@pytest.fixture
def mixed() -> list[dict]:
    """Training rows: video, image, image pair, text only, a longer clip."""
    return [
        sample(clip("red", "blue", "blue", "red"), answer="red"),
        sample(clip("green"), question="What colour appears first?", answer="green blue"),
        sample(np.concatenate([clip("red"), clip("blue")]), media_kind="image", answer="blue"),
        sample(None, answer="yellow"),
        sample(clip("blue", "blue", "green", "red", "red", "red"), answer="blue"),
    ]


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("target", ["text", "letter", "both"])
def test_shared_rows_score_as_one_row_per_option(folder, attention, target) -> None:
    vlm = load_model(model_cfg(batch_size=3, attn_implementation=attention), str(folder))
    assert shared_rows_supported(vlm.model)
    calls = []
    hook = vlm.model.model.language_model.register_forward_hook(
        lambda m, a, k, o: calls.append(k["inputs_embeds"].shape[:2]), with_kwargs=True
    )
    shared = vlm.score_options(questions(), target=target)
    shared_calls, calls[:] = list(calls), []
    vlm.shared_prompt = False
    rows = vlm.score_options(questions(), target=target)
    hook.remove()
    for a, b in zip(shared, rows, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    assert np.ptp(np.concatenate(rows)) > 0.5  # the scores differ: a real comparison
    # One row per question (3 per pass), against one row per option.
    assert [int(b) for b, _ in shared_calls] == [3, 2]
    assert sum(int(b) for b, _ in calls) == 4 + 2 + 3 + 4 + 2


def test_shared_rows_need_an_attention_that_takes_a_mask(folder) -> None:
    vlm = load_model(model_cfg(), str(folder))
    vlm.model.config._attn_implementation = "flash_attention_2"
    assert not shared_rows_supported(vlm.model)
    vlm.model.config._attn_implementation = "sdpa"
    assert not load_model(model_cfg(shared_prompt_options=False), str(folder)).shared_prompt


def test_mask_sized_passes_stay_within_the_limit(folder) -> None:
    vlm = load_model(model_cfg(), str(folder))
    jobs = [(i, s, False, s["options"], True) for i, s in enumerate(questions())]
    items = vlm._encode_all(jobs)
    groups, start = [], 0
    for s in questions():
        groups.append(items[start : start + len(s["options"])])
        start += len(s["options"])
    longest = max(len(g[0].input_ids) - g[0].n_target + sum(e.n_target for e in g) for g in groups)
    passes = mask_sized(groups, limit=2 * longest**2)
    assert [len(p) for p in passes] == [2, 2, 1]
    assert [g for p in passes for g in p] == groups
    assert [len(p) for p in mask_sized(groups, limit=1)] == [1] * 5


def test_linear_patch_embedding_equals_the_convolution(folder) -> None:
    vlm = load_model(model_cfg(linear_patch_embed=False), str(folder))
    embed = vlm.model.model.visual.patch_embed
    pixels = torch.randn(20, 96, requires_grad=True)
    conv = embed(pixels)
    (conv_grad,) = torch.autograd.grad(conv.square().sum(), embed.proj.weight)
    assert patch_linear_patch_embed(vlm.model) == 1
    linear = embed(pixels)
    (linear_grad,) = torch.autograd.grad(linear.square().sum(), embed.proj.weight)
    torch.testing.assert_close(linear, conv, rtol=0, atol=1e-5)
    torch.testing.assert_close(linear_grad, conv_grad, rtol=1e-5, atol=1e-4)
    assert patch_linear_patch_embed(vlm.model, enabled=False) == 1
    assert "forward" not in vars(embed.proj)
    # Blocks of another shape (not one kernel per row) go through the convolution.
    odd = torch.randn(2, 3, 4, 8, 8)
    patch_linear_patch_embed(vlm.model)
    torch.testing.assert_close(embed.proj(odd), torch.nn.Conv3d.forward(embed.proj, odd))


def test_packed_passes_give_the_stock_losses_and_gradients(folder, mixed) -> None:
    vlm = load_model(model_cfg(), str(folder))
    model = vlm.model.train()
    batch = vlm.collate(mixed)
    assert not bool(batch["attention_mask"].all())  # padded rows

    def step() -> tuple[float, dict[str, torch.Tensor]]:
        model.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}

    inputs = []
    hook = model.model.language_model.layers[0].register_forward_hook(
        lambda m, a, o: inputs.append(tuple(a[0].shape))
    )
    packed_loss, packed = step()
    assert patch_packed_sequences(model, enabled=False) == 1
    stock_loss, stock = step()
    hook.remove()
    n_real = int(batch["attention_mask"].sum())
    assert inputs == [(1, n_real, 128), (*batch["input_ids"].shape, 128)]
    assert packed_loss == pytest.approx(stock_loss, abs=1e-6)
    for name, grad in stock.items():
        torch.testing.assert_close(packed[name], grad, rtol=1e-4, atol=1e-6)
    model.eval()
    patch_packed_sequences(model)
    # Loss passes pack too; generation (left padding, a KV cache) takes the stock path.
    packed_losses = vlm.losses(mixed)
    packed_text = vlm.generate(mixed, max_new_tokens=3)
    patch_packed_sequences(model, enabled=False)
    np.testing.assert_allclose(packed_losses[0], vlm.losses(mixed)[0], atol=1e-5)
    assert packed_text == vlm.generate(mixed, max_new_tokens=3)


def test_encodings_made_once_batch_like_collate(folder, mixed) -> None:
    vlm = load_model(model_cfg(), str(folder))
    rows = mixed
    items = vlm.encode_each(rows)
    batch = vlm.collate_encoded(items)
    plain = vlm.collate(rows)
    assert set(batch) == set(plain) | {"position_ids"}
    for key, value in plain.items():
        assert torch.equal(batch[key], value), key
    # The positions are the model's own (transformers' per-row loop).
    core = vlm.model.model
    grids = {k: plain[k] for k in ("image_grid_thw", "video_grid_thw")}
    want, _ = type(core).get_rope_index(
        core, plain["input_ids"], mm_token_type_ids=plain["mm_token_type_ids"],
        attention_mask=plain["attention_mask"], **grids,
    )  # fmt: skip
    real = plain["attention_mask"].bool()
    assert torch.equal(batch["position_ids"][:, real], want[:, real])
    model = vlm.model.train()
    with_positions = model(**batch).loss
    without = model(**{k: v for k, v in batch.items() if k != "position_ids"}).loss
    assert with_positions.item() == pytest.approx(without.item(), abs=1e-6)


def test_encode_each_returns_too_long_in_place(folder, mixed) -> None:
    vlm = load_model(model_cfg(max_length=60), str(folder))
    rows = list(mixed)
    rows[3] = sample(None, question=" ".join(["red"] * 80), answer="red")
    items = vlm.encode_each(rows)
    assert isinstance(items[3], SampleTooLong) and items[3].index == 3
    assert all(not isinstance(x, SampleTooLong) for k, x in enumerate(items) if k != 3)
    # A clip that lost frames to fit still gets its positions.
    assert vlm.stats["frames_truncated"] >= 1
    assert all(
        x.positions is not None for x in items if not isinstance(x, SampleTooLong) and x.vision
    )


def test_questions_on_one_video_send_it_through_the_vision_tower_once(folder) -> None:
    vlm = load_model(model_cfg(), str(folder))
    video = clip("red", "blue", "green", "red")  # one array: one video's frames, decoded once
    asks = ["What colour is the shape?", "What colour appears first?"]
    questions = [sample(video, question=q, options=OPTIONS) for q in asks]
    questions.append(sample(clip("green", "blue", "blue", "red"), options=OPTIONS[:2]))
    patches = []
    hook = vlm.model.model.visual.register_forward_hook(lambda m, a, o: patches.append(len(a[0])))
    once = vlm.score_options(questions)
    assert patches == [128 + 128]  # two distinct clips of 128 patches, the first shared
    patches.clear()
    copies = [dict(q, frames=q["frames"].copy()) for q in questions]  # equal frames, not shared
    plain = vlm.score_options(copies)
    hook.remove()
    assert patches == [3 * 128]
    for a, b in zip(once, plain, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
