"""gdo.models on the tiny Qwen2-VL: build/load round trip, labels, losses, blind, generation,
option scoring (with a real learning signal) and temporal order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from gdo.models import SampleTooLong, build_tiny, load_model, vocabulary_from_texts
from gdo.models.config import ModelConf
from gdo.utils.errors import ConfigError, InputError

torch.set_num_threads(1)
CONF = Path(__file__).resolve().parent.parent / "conf" / "model"
COLOURS = {"red": (255, 0, 0), "blue": (0, 0, 255), "green": (0, 255, 0), "yellow": (255, 255, 0)}
TEXTS = ["What colour is the shape?", "What colour appears first?", *COLOURS]


def model_cfg(**overrides):
    cfg = OmegaConf.merge(
        OmegaConf.structured(ModelConf), OmegaConf.load(CONF / "tiny_qwen2vl.yaml")
    )
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def clip(*colours: str, size: int = 32) -> np.ndarray:
    """A (T, size, size, 3) clip: one solid square per frame in the given colours."""
    frames = np.zeros((len(colours), size, size, 3), dtype=np.uint8)
    for t, name in enumerate(colours):
        frames[t, 8:24, 8:24] = COLOURS[name]
    return frames


def sample(frames=None, question="What colour is the shape?", answer="red", **extra):
    kind = "none" if frames is None else ("image" if len(frames) == 1 else "video")
    out = {"question": question, "answer": answer, "media_kind": kind, "media": []}
    if frames is not None:
        out["frames"] = frames
    return {**out, **extra}


def tiny_folder(tmp_path_factory) -> Path:
    """The tiny model, built into a fresh folder."""
    return build_tiny(
        model_cfg(), tmp_path_factory.mktemp("tiny") / "model", vocabulary_from_texts(TEXTS)
    )


def mixed_samples() -> list[dict]:
    """Video, image and text-only samples of different lengths."""
    return [
        sample(clip("red", "blue", "blue", "red"), answer="red"),
        sample(clip("green"), question="What colour appears first?", answer="green blue"),
        sample(None, answer="yellow"),
        sample(clip("blue", "blue", "green", "red", "red", "red"), answer="blue"),
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tiny_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def vlm(folder):
    return load_model(model_cfg(), str(folder))


@pytest.fixture
def mixed() -> list[dict]:
    return mixed_samples()


def test_build_round_trip(folder, vlm, tmp_path):
    from transformers import Qwen2VLForConditionalGeneration

    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja",
                 "preprocessor_config.json", "video_preprocessor_config.json"):  # fmt: skip
        assert (folder / name).is_file(), name
    assert isinstance(vlm.model, Qwen2VLForConditionalGeneration)
    assert vlm.model.config.text_config.num_hidden_layers == 2
    assert vlm.frames == 4 and vlm.max_pixels == 1024
    # Same config + vocabulary + seed -> the same weights, read back through from_pretrained.
    again = load_model(
        model_cfg(), str(build_tiny(model_cfg(), tmp_path / "b", vocabulary_from_texts(TEXTS)))
    )
    for (name, a), (_, b) in zip(
        vlm.model.state_dict().items(), again.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    ids = vlm.tokenizer("What colour is the shape?", add_special_tokens=False)["input_ids"]
    assert vlm.tokenizer.unk_token_id not in ids
    assert vlm.tokenizer.decode(ids) == "What colour is the shape?"


def test_layers_configurable(tmp_path):
    cfg = model_cfg(**{"tiny.num_hidden_layers": 3, "tiny.patch_size": 8})
    model = load_model(cfg, str(build_tiny(cfg, tmp_path / "m", ["red"]))).model
    assert model.config.text_config.num_hidden_layers == 3
    assert model.config.vision_config.patch_size == 8


def test_labels_cover_the_answer_only(vlm, mixed):
    batch = vlm.collate(mixed)
    end = vlm.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for row, s in enumerate(mixed):
        labelled = batch["labels"][row][batch["labels"][row] != -100].tolist()
        expected = vlm.tokenizer(s["answer"], add_special_tokens=False)["input_ids"]
        assert labelled == [*expected, end]
        # The labelled span is the last real tokens of the row (right padding after it).
        n = int(batch["attention_mask"][row].sum())
        assert batch["input_ids"][row, n - len(labelled) : n].tolist() == labelled
    assert (batch["attention_mask"][:, 0] == 1).all()  # right padding
    no_end = vlm.collate(mixed[:1], end=False)["labels"][0]
    assert (no_end != -100).sum() == 1


def test_batched_losses_equal_single(vlm, mixed):
    batched = vlm.loss(mixed)
    single = np.array([vlm.loss([s])[0] for s in mixed])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    visual, blind = vlm.losses(mixed)
    np.testing.assert_allclose(visual, batched, atol=1e-4)
    np.testing.assert_allclose(blind, vlm.loss(mixed, blind=True), atol=1e-4)
    assert np.isfinite(batched).all() and (batched > 0).all()


def test_blind_drops_the_visual_tokens(vlm, mixed):
    batch = vlm.collate(mixed, blind=True)
    assert not {"pixel_values", "pixel_values_videos", "image_grid_thw", "video_grid_thw"} & set(
        batch
    )
    assert int(batch["mm_token_type_ids"].sum()) == 0
    pads = vlm.tokenizer.convert_tokens_to_ids(
        ["<|video_pad|>", "<|image_pad|>", "<|vision_start|>"]
    )
    assert not torch.isin(batch["input_ids"], torch.tensor(pads)).any()
    assert "<|vision_start|>" not in vlm.prompt(mixed[0], blind=True)
    visual, blind = vlm.losses(mixed)
    assert abs(visual[0] - blind[0]) > 1e-4 and abs(visual[1] - blind[1]) > 1e-4
    assert visual[2] == pytest.approx(blind[2], abs=1e-6)  # text-only: nothing to drop


def test_generate_strings_and_greedy_is_deterministic(vlm, mixed):
    first = vlm.generate(mixed, max_new_tokens=4)
    assert [len(x) for x in first] == [1] * len(mixed)
    assert all(isinstance(t, str) for x in first for t in x)
    assert vlm.generate(mixed, max_new_tokens=4) == first
    assert vlm.generate(mixed, n=2, max_new_tokens=4) == [x * 2 for x in first]
    assert [vlm.generate([s], max_new_tokens=4)[0] for s in mixed] == first  # left padding ok
    sampled = vlm.generate(mixed, n=3, temperature=1.0, max_new_tokens=4, seed=1)
    assert [len(x) for x in sampled] == [3] * len(mixed)
    assert vlm.generate(mixed, n=3, temperature=1.0, max_new_tokens=4, seed=1) == sampled


def test_score_options_shapes_and_targets(vlm):
    samples = [sample(clip("red"), options=["red", "blue", "green"]),
               sample(clip("red", "blue"), options=["blue", "red"])]  # fmt: skip
    for target in ("text", "letter", "both"):
        scores = vlm.score_options(samples, target=target)
        assert [s.shape for s in scores] == [(3,), (2,)]
        assert all(np.isfinite(s).all() and (s < 0).all() for s in scores)
    # The same option scores the same wherever it sits in the list.
    text = vlm.score_options(samples)
    again = vlm.score_options([sample(clip("red"), options=["green", "red"])])[0]
    assert again[1] == pytest.approx(text[0][0], abs=1e-4)
    with pytest.raises(InputError, match="options"):
        vlm.score_options([sample(clip("red"))])


def test_a_few_steps_on_one_fact_make_it_the_top_option(folder, tmp_path):
    vlm = load_model(model_cfg(), str(folder))
    options = ["red", "blue", "green", "yellow"]
    fact = sample(clip("red", "red"), options=options)
    before = vlm.score_options([fact])[0]
    # Teach the option the untrained model likes least, so the test cannot pass by luck.
    answer = options[int(np.argmin(before))]
    fact["answer"] = answer
    torch.manual_seed(0)
    optim = torch.optim.AdamW(vlm.model.parameters(), lr=3e-3)
    vlm.model.train()
    for _ in range(15):
        optim.zero_grad()
        out = vlm.model(**vlm.collate([fact]))
        out.loss.backward()
        optim.step()
    after = vlm.score_options([fact])[0]
    assert options[int(np.argmax(after))] == answer
    assert vlm.generate([fact], max_new_tokens=3) == [[answer]]
    # A checkpoint of the trained model reloads with the same processor and weights.
    ckpt = vlm.save_pretrained(tmp_path / "ckpt")
    assert {"tokenizer.json", "video_preprocessor_config.json", "chat_template.jinja"} <= {
        p.name for p in ckpt.iterdir()
    }
    np.testing.assert_allclose(
        load_model(model_cfg(), str(ckpt)).score_options([fact])[0], after, atol=1e-5
    )


def test_time_reversed_frames_change_the_output(vlm):
    forward, backward = clip("red", "blue"), clip("blue", "red")
    losses = vlm.loss([sample(forward), sample(backward)])
    assert abs(losses[0] - losses[1]) > 1e-4
    four = vlm.loss(
        [sample(clip("red", "red", "blue", "blue")), sample(clip("blue", "blue", "red", "red"))]
    )
    assert abs(four[0] - four[1]) > 1e-4  # across temporal patches (M-RoPE time index)


def test_too_long_drops_frames_then_raises(folder):
    vlm = load_model(model_cfg(max_length=60, min_frames=2), str(folder))
    long = sample(clip(*["red", "blue"] * 4))  # 8 frames: 64 vision tokens
    batch = vlm.collate([long])
    assert int(batch["video_grid_thw"][0, 0]) < 4 and vlm.stats["frames_truncated"] == 1
    assert batch["input_ids"].shape[1] <= 60
    wordy = sample(clip("red", "blue"), question=" ".join(["What colour is the shape?"] * 20))
    with pytest.raises(SampleTooLong) as err:
        vlm.loss([long, wordy, wordy])
    assert err.value.index == 1 and err.value.indices == [1, 2]


def test_bad_input_names_the_field(vlm):
    with pytest.raises(InputError, match="field 'answer'"):
        vlm.loss([sample(clip("red"), answer="", uid="u1")])
    with pytest.raises(InputError, match="field 'frames'.*uint8"):
        vlm.loss([sample(np.zeros((2, 32, 32, 3), dtype=np.float32))])
    with pytest.raises(ConfigError, match="model.path"):
        load_model(model_cfg())


def test_real_model_configs_compose():
    for name, path in [("qwen2vl_7b", "Qwen/Qwen2-VL-7B-Instruct"),
                       ("qwen2vl_2b", "Qwen/Qwen2-VL-2B-Instruct"),
                       ("qwen3vl_8b", "Qwen/Qwen3-VL-8B-Instruct")]:  # fmt: skip
        cfg = OmegaConf.merge(
            OmegaConf.structured(ModelConf), OmegaConf.load(CONF / f"{name}.yaml")
        )
        assert (cfg.path, cfg.frames, cfg.max_pixels) == (path, 32, 50176)
        # bf16 + flash-attention 2 / sdpa on GPUs, fp32 + sdpa on CPU (gdo.models.device)
        assert (cfg.device, cfg.dtype, cfg.attn_implementation) == ("auto", "auto", "auto")


def test_candidate_rows_with_media_files(vlm, tmp_path):
    """Rows as the pool writes them (numpy lists from parquet) load through gdo.media."""
    from gdo.media import MediaError
    from gdo.media.testing import write_image, write_video

    video = write_video(tmp_path / "v.mp4", n_frames=12, size=(32, 32))
    image = write_image(tmp_path / "i.png", size=(32, 32))
    rows = [
        sample(None, media_kind="video", media=np.array([str(video)]), duration_s=1.5),
        sample(None, media_kind="image", media=np.array([str(image)]), duration_s=float("nan")),
    ]
    batch = vlm.collate(rows)
    assert batch["video_grid_thw"].tolist() == [[2, 8, 8]]  # model.frames = 4 sampled frames
    assert batch["image_grid_thw"].tolist() == [[1, 8, 8]]
    preloaded = vlm.loss([sample(vlm.encoder.media(rows[0])[1])])
    np.testing.assert_allclose(vlm.loss(rows[:1]), preloaded, atol=1e-6)
    missing = sample(None, media_kind="video", media=[str(tmp_path / "gone.mp4")])
    with pytest.raises(MediaError) as err:
        vlm.loss([rows[0], missing])
    assert err.value.index == 1
