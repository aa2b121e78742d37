"""``gdo train`` end to end in one process (no DeepSpeed): a real tiny Qwen2-VL learns,
checkpoints by samples seen, resumes after a crash, refuses another model's checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_training import build_base, train_cfg, use_backend, write_subset

from gdo.training import checkpoints as ck
from gdo.training.stage import run
from gdo.utils.errors import InputError

torch.set_num_threads(1)


@pytest.fixture
def backend(monkeypatch):
    """The VLM behind training: the stand-in until gdo.models.load_model lands."""
    import gdo.models

    monkeypatch.setattr(gdo.models, "load_model", gdo.models.load_model)
    use_backend()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_base(tmp_path_factory.mktemp("base") / "base_model")


def _final_weights(ckpt: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(ckpt / "model.safetensors")


def test_train_one_process_learns_and_checkpoints_by_samples(
    tmp_path: Path, base: Path, backend
) -> None:
    subset = write_subset(tmp_path / "subset.parquet", n=48, long_rows=2)
    cfg = train_cfg(
        tmp_path, base, subset, "training.checkpoint.every_fraction=0.5", "training.epochs=4"
    )
    out = run(cfg)
    assert out == tmp_path / "outputs" / "default" / "train" / "temp_plus"
    # 50 rows / batch 8 = 7 steps per epoch, 28 in 4 epochs; halves at steps 14 and 28.
    names = [p.name for p in ck.list_checkpoints(out / "checkpoints")]
    assert names == ["ckpt-112", "ckpt-200"]
    state = ck.read_state(out / "checkpoints" / "ckpt-200")
    assert state["step"] == 28 and state["samples"] == 200 and state["tokens"] > 0
    assert state["base_model"]["id"] == str(base) and state["wall_time_s"] > 0
    # Only the newest checkpoint keeps the optimizer; both load with from_pretrained.
    assert ck.has_resume_state(out / "checkpoints" / "ckpt-200")
    assert not ck.has_resume_state(out / "checkpoints" / "ckpt-112")
    from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration

    model = Qwen2VLForConditionalGeneration.from_pretrained(out / "checkpoints" / "ckpt-200")
    assert AutoTokenizer.from_pretrained(out / "checkpoints" / "ckpt-200") is not None
    start = Qwen2VLForConditionalGeneration.from_pretrained(base)
    moved = (model.lm_head.weight - start.lm_head.weight).abs().max().item()
    assert moved > 0
    # The loss falls (a fixed thing -> colour mapping) and the long rows were counted.
    manifest = json.loads((out / "manifest.json").read_text())
    c = manifest["counts"]
    assert c["last_loss"] < 0.5 * c["first_loss"]
    assert c["dropped_too_long_this_session"] == 8  # 2 long rows x 4 epochs
    assert manifest["checkpoints"] == names
    # A second call is a cache hit: nothing retrains.
    before = (out / "checkpoints" / "ckpt-200" / "gdo_state.json").stat().st_mtime_ns
    run(cfg)
    assert (out / "checkpoints" / "ckpt-200" / "gdo_state.json").stat().st_mtime_ns == before


def test_crash_resumes_from_last_checkpoint_to_the_same_end(
    tmp_path: Path, base: Path, backend, monkeypatch
) -> None:
    subset = write_subset(tmp_path / "subset.parquet", n=48)
    extra = ("training.checkpoint.every_fraction=0.25", "training.run_name=r")
    ref = run(train_cfg(tmp_path / "ref", base, subset, *extra))
    ref_state = ck.read_state(ck.list_checkpoints(ref / "checkpoints")[-1])

    from gdo.training import trainer as tr

    calls = {"n": 0}
    original = tr.GdoTrainer.training_step

    def crashing_step(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 8:  # after the checkpoint at step 6 (a quarter is 3 steps)
            raise RuntimeError("simulated crash")
        return original(self, *a, **kw)

    monkeypatch.setattr(tr.GdoTrainer, "training_step", crashing_step)
    cfg = train_cfg(tmp_path / "crash", base, subset, *extra)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(cfg)
    out = tmp_path / "crash" / "outputs" / "default" / "train" / "r"
    assert [p.name for p in ck.list_checkpoints(out / "checkpoints")] == ["ckpt-24", "ckpt-48"]
    assert not (out / "manifest.json").exists()
    monkeypatch.setattr(tr.GdoTrainer, "training_step", original)
    run(cfg)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["resumed_from"] == "ckpt-48"
    final = ck.list_checkpoints(out / "checkpoints")[-1]
    state = ck.read_state(final)
    assert (state["step"], state["samples"]) == (ref_state["step"], ref_state["samples"])
    assert state["tokens"] == ref_state["tokens"]
    # Same data order and optimizer state: the resumed model is the uninterrupted one.
    a, b = _final_weights(final), _final_weights(ck.list_checkpoints(ref / "checkpoints")[-1])
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4


def test_checkpoint_from_another_model_is_refused(tmp_path: Path, base: Path, backend) -> None:
    subset = write_subset(tmp_path / "subset.parquet", n=16)
    cfg = train_cfg(tmp_path, base, subset, "training.epochs=1")
    out = run(cfg)
    other = build_base(tmp_path / "other_model", hidden=64)
    cfg2 = train_cfg(tmp_path, other, subset, "training.epochs=1")
    with pytest.raises(InputError) as exc:
        run(cfg2)
    msg = str(exc.value)
    assert "gdo_state.json" in msg and "another model" in msg
    # Also when named explicitly, and the old checkpoints are left untouched.
    cfg3 = train_cfg(
        tmp_path, other, subset, "training.run_name=x",
        f"training.checkpoint.resume_from={ck.list_checkpoints(out / 'checkpoints')[-1]}",
    )  # fmt: skip
    with pytest.raises(InputError, match="another model"):
        run(cfg3)
    assert ck.list_checkpoints(out / "checkpoints")
