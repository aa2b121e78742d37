"""gdo.training: DeepSpeed rendering, checkpoint plans, subset checks, and a real
single-process fine-tune of a tiny Qwen2-VL (checkpoints, resume, refusal)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from conftest import compose

from gdo.training import checkpoints as ck
from gdo.training.data import Collator, drop_missing_media, load_subset
from gdo.training.ds_config import render_deepspeed
from gdo.utils.errors import ConfigError, InputError

COLOURS = ["red", "green", "blue", "yellow"]
THINGS = ["ball", "cube", "star", "ring", "cone", "disk", "leaf", "moon"]


# --- a stand-in VLM over the real tiny Qwen2-VL (text only) --------------------------------
class StandInVLM:
    """The part of ``gdo.models.VLM`` training uses: model, processor, collate, frames."""

    def __init__(self, folder: str | Path, model_cfg: Any, device: str = "cpu") -> None:
        from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration

        self.model = Qwen2VLForConditionalGeneration.from_pretrained(folder).to(device)
        self.processor = AutoTokenizer.from_pretrained(folder)
        self.frames, self.max_pixels = int(model_cfg.frames), int(model_cfg.max_pixels)
        self.max_length = int(model_cfg.max_length)

    def collate(self, samples: list[dict[str, Any]], blind: bool = False) -> dict[str, Any]:
        from gdo.models import SampleTooLong

        tok = self.processor
        ids, labels = [], []
        for i, s in enumerate(samples):
            p = tok(f"user {s['question']} assistant", add_special_tokens=False)["input_ids"]
            a = tok(s["answer"], add_special_tokens=False)["input_ids"]
            if len(p) + len(a) > self.max_length:
                raise SampleTooLong(len(p) + len(a), self.max_length, index=i)
            ids.append(p + a)
            labels.append([-100] * len(p) + a)
        n = max(len(x) for x in ids)
        pad = tok.pad_token_id
        return {
            "input_ids": torch.tensor([x + [pad] * (n - len(x)) for x in ids]),
            "attention_mask": torch.tensor([[1] * len(x) + [0] * (n - len(x)) for x in ids]),
            "labels": torch.tensor([x + [-100] * (n - len(x)) for x in labels]),
        }


def standin_load_model(model_cfg: Any, path: str | None = None, device: str = "cpu"):
    return StandInVLM(path or model_cfg.path, model_cfg, device)


def real_models_ready() -> bool:
    """True once gdo.models implements collate (until then training tests use the stand-in)."""
    import inspect

    from gdo.models import VLM

    return "raise NotImplementedError" not in inspect.getsource(VLM.collate)


def use_backend() -> None:
    """Route ``gdo.models.load_model`` to the stand-in unless the real one is ready."""
    import gdo.models

    if os.environ.get("GDO_TEST_STANDIN") == "1" or not real_models_ready():
        gdo.models.load_model = standin_load_model


def build_base(folder: Path, hidden: int = 32) -> Path:
    """A tiny random-init Qwen2-VL saved with the models package's builder."""
    from gdo.models import build_tiny

    cfg = compose(
        [f"model.tiny.hidden_size={hidden}", "model.tiny.intermediate_size=64", "model.frames=2"]
    )
    vocab = ["what", "colour", "is", "the", "?", *COLOURS, *THINGS, "long"]
    return build_tiny(cfg.model, folder, vocab)


def write_subset(path: Path, n: int = 48, long_rows: int = 0) -> Path:
    """A learnable text subset: each thing has a fixed colour."""
    rows = []
    for i in range(n):
        thing = THINGS[i % len(THINGS)]
        colour = COLOURS[(i % len(THINGS)) % len(COLOURS)]
        rows.append(_row(i, f"what colour is the {thing} ?", colour))
    for j in range(long_rows):
        rows.append(_row(n + j, " ".join(["long"] * 400), "red"))
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def _row(i: int, q: str, a: str) -> dict[str, Any]:
    return {
        "uid": f"u{i:04d}", "sample_id": str(i), "turn": 0, "source": "test", "file": "t",
        "record": i, "bucket": "image", "media_kind": "none", "media": [], "video_id": "",
        "duration_s": float("nan"), "n_frames": -1, "question": q, "answer": a,
        "is_mcq": False, "options": [], "answer_letter": "",
    }  # fmt: skip


def train_cfg(tmp_path: Path, base: Path, subset: Path, *extra: str):
    return compose(
        [
            f"paths.root_dir={tmp_path}",
            "logger=none",
            f"training.subset={subset}",
            f"training.init_from={base}",
            "training.per_device_batch_size=8",
            "training.lr=1e-2",
            "training.warmup_ratio=0.0",
            "training.logging_steps=1",
            "training.epochs=2",
            "model.max_length=64",
            *extra,
        ]
    )


# --- pure functions ----------------------------------------------------------------------
def test_zero3_json_has_auto_values_and_gathers_16bit_weights() -> None:
    ds = render_deepspeed(compose(["training/deepspeed=zero3"]).training.deepspeed)
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert ds["optimizer"]["params"]["torch_adam"] is True
    assert ds["train_micro_batch_size_per_gpu"] == "auto"
    assert ds["gradient_accumulation_steps"] == "auto"
    z2 = render_deepspeed(compose(["training/deepspeed=zero2"]).training.deepspeed)
    assert z2["zero_optimization"]["stage"] == 2
    assert "stage3_prefetch_bucket_size" not in z2["zero_optimization"]
    assert render_deepspeed(compose(["training/deepspeed=none"]).training.deepspeed) is None


def test_deepspeed_extra_keys_merge_and_bad_stage_fails() -> None:
    cfg = compose(
        ["training/deepspeed=zero3", "+training.deepspeed.extra.zero_optimization.sub_group_size=7"]
    )
    assert render_deepspeed(cfg.training.deepspeed)["zero_optimization"]["sub_group_size"] == 7
    with pytest.raises(ConfigError, match="stage=1"):
        render_deepspeed(compose(["training.deepspeed.stage=1"]).training.deepspeed)


def test_launch_json_matches_the_config() -> None:
    shipped = json.loads((Path(__file__).parents[1] / "launch" / "ds_zero3.json").read_text())
    assert shipped == render_deepspeed(compose(["training/deepspeed=zero3"]).training.deepspeed)


def test_paper_recipe_is_the_reference_protocol() -> None:
    t = compose(["training=paper"]).training
    assert (t.lr, t.warmup_ratio, t.weight_decay, t.max_grad_norm) == (2e-5, 0.1, 0.01, 1.0)
    assert (t.per_device_batch_size, t.bf16, t.gradient_checkpointing) == (1, True, True)
    assert (t.max_length, t.deepspeed.stage, t.checkpoint.every_fraction) == (8192, 3, 0.2)


def test_checkpoint_plan_fifths_and_sample_counts() -> None:
    plan = ck.plan_checkpoints(64, 10, 600, every_fraction=0.2, at_samples=[100, 5000])
    assert set(plan.steps) == {2, 4, 6, 8, 10}  # 100 samples -> step 2 (128), 5000 > run
    assert plan.samples_at(2) == 128 and plan.samples_at(10) == 600  # capped at the run
    plan = ck.plan_checkpoints(8, 7, 56, every_fraction=None, at_samples=[17])
    assert plan.steps == (3, 7)
    with pytest.raises(ConfigError, match="nothing to train"):
        ck.plan_checkpoints(8, 0, 0, every_fraction=0.2)


def test_missing_media_skip_counts_and_fail_names_the_row(tmp_path: Path) -> None:
    present = tmp_path / "a.png"
    present.write_bytes(b"x")
    rows = [
        {**_row(0, "q", "a"), "media_kind": "image", "media": [str(present)]},
        {**_row(1, "q", "a"), "media_kind": "image", "media": [str(tmp_path / "gone.png")]},
    ]
    kept, skipped = drop_missing_media(rows, "skip", "subset.parquet")
    assert [r["uid"] for r in kept] == ["u0000"] and skipped == 1
    with pytest.raises(InputError) as exc:
        drop_missing_media(rows, "fail", "subset.parquet")
    msg = str(exc.value)
    assert "subset.parquet" in msg and "row 1" in msg and "media" in msg and "gone.png" in msg


def test_subset_without_answer_column_fails_by_name(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    pd.DataFrame([{"question": "q", "media_kind": "none", "media": []}]).to_parquet(path)
    with pytest.raises(InputError, match="answer"):
        load_subset(path)
    with pytest.raises(InputError, match="not found"):
        load_subset(tmp_path / "missing.parquet")


def test_collator_drops_and_counts_too_long_samples() -> None:
    from gdo.models import SampleTooLong

    def collate(samples):
        for i, s in enumerate(samples):
            if s["answer"] == "long":
                raise SampleTooLong(999, 10, index=i)
        return {"n": len(samples)}

    c = Collator(collate)
    with pytest.raises(SampleTooLong):  # nothing to fall back on yet
        c([{"answer": "long"}])
    out = c([{"answer": "a"}, {"answer": "long"}, {"answer": "b"}, {"answer": "long"}])
    assert out == {"n": 2} and c.dropped.too_long == 3
    # A batch with nothing left replays the last good one with a zero loss weight.
    assert c([{"answer": "long"}]) == {"n": 2, "gdo_zero_loss": 1}
    assert c.dropped.too_long == 4


def test_model_parts_follow_qwen_names() -> None:
    from gdo.training.trainer import model_part

    assert model_part("model.visual.blocks.0.attn.qkv.weight") == "vision_tower"
    assert model_part("model.visual.merger.mlp.0.weight") == "merger"
    assert model_part("model.visual.deepstack_merger_list.0.norm.weight") == "merger"
    assert model_part("model.language_model.layers.0.mlp.up_proj.weight") == "llm"
    assert model_part("lm_head.weight") == "llm"


def test_sampler_is_reproducible_per_epoch_and_modality_pure_under_zero3() -> None:
    from gdo.training.sampler import EpochSampler

    kinds = ["image"] * 5 + ["video"] * 7 + ["none"] * 2
    s = EpochSampler(14, 0, lengths=list(range(14)), batch_size=4, modalities=kinds, block=4)
    order = list(s)
    # Each block of 4 (batch per rank x ranks) has one modality; partial blocks are filled.
    assert len(order) == len(s) == 20 and set(order) == set(range(14))
    assert all(len({kinds[i] for i in order[k : k + 4]}) == 1 for k in range(0, 20, 4))
    again = EpochSampler(14, 0, lengths=list(range(14)), batch_size=4, modalities=kinds, block=4)
    assert list(again) == order  # a restarted run draws the same order
    s.set_epoch(1)
    assert list(s) != order and sorted(set(s)) == list(range(14))
    plain = EpochSampler(14, 0)
    assert len(plain) == 14 and sorted(plain) == list(range(14))


def test_slurm_tasks_become_torch_ranks(monkeypatch) -> None:
    from gdo.training.args import _slurm_env

    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                "SLURM_JOB_NODELIST", "SLURM_NODELIST", "LOCAL_WORLD_SIZE"):  # fmt: skip
        # setenv first so that monkeypatch restores the original (absent) state afterwards.
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setenv("SLURM_PROCID", "11")
    monkeypatch.setenv("SLURM_LOCALID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "16")
    monkeypatch.setenv("SLURM_NTASKS_PER_NODE", "8(x2)")
    monkeypatch.setenv("SLURM_LAUNCH_NODE_IPADDR", "10.0.0.7")
    _slurm_env()
    env = {k: os.environ[k] for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE")}
    assert env == {"RANK": "11", "LOCAL_RANK": "3", "WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8"}
    assert os.environ["MASTER_ADDR"] == "10.0.0.7"
    # torchrun's variables win: nothing is overwritten when RANK is already set.
    monkeypatch.setenv("SLURM_PROCID", "5")
    _slurm_env()
    assert os.environ["RANK"] == "11"


@pytest.mark.parametrize("preset", ["zero2", "zero3"])
def test_ds_config_command_renders_what_the_config_composes(preset: str, tmp_path: Path) -> None:
    # `python -m gdo.training.ds_config` reads the preset on its schema, without composing
    # the root config (gdo.training does not import gdo.config or gdo.cli).
    from gdo.training.ds_config import main

    assert main([preset, str(tmp_path / "ds.json")]) == 0
    composed = render_deepspeed(compose([f"training/deepspeed={preset}"]).training.deepspeed)
    assert json.loads((tmp_path / "ds.json").read_text()) == composed
    with pytest.raises(ConfigError, match="no DeepSpeed preset 'zero9'"):
        main(["zero9", str(tmp_path / "x.json")])
