"""``training.pre_encode``: rows encoded once train exactly like rows encoded per batch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_video
from test_training import _row, build_base, train_cfg

from gdo.training.pre_encode import estimate_mb, pre_encode
from gdo.training.stage import run

torch.set_num_threads(1)
COLOURS = {"red": (0, 0, 255), "blue": (255, 0, 0), "green": (0, 255, 0)}


def media_subset(tmp_path: Path) -> Path:
    """Video rows (two QA turns per clip), text rows and rows too long to train on."""
    rows = []
    for k, (name, bgr) in enumerate(COLOURS.items()):
        video = write_video(tmp_path / f"{name}.mp4", bgr, frames=6)
        for turn, (q, a) in enumerate([("what colour is the ball ?", name), ("is the", "red")]):
            row = _row(len(rows), q, a)
            row.update(media_kind="video", media=[video], bucket="short_video", turn=turn)
            row["uid"] = f"v{k}{turn}"
            rows.append(row)
    rows += [
        _row(100 + i, f"what colour is the {t} ?", c)
        for i, (t, c) in enumerate(
            [("cube", "red"), ("star", "blue"), ("ring", "green"), ("moon", "red")]
        )
    ]
    rows += [_row(200 + i, " ".join(["long"] * 200), "red") for i in range(2)]
    path = tmp_path / "subset.parquet"
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_base(tmp_path_factory.mktemp("base") / "base_model")


def test_pre_encoded_rows_train_like_rows_encoded_per_batch(tmp_path: Path, base: Path) -> None:
    subset = media_subset(tmp_path)
    runs = {}
    # Pre-encoded with logits at the answers only (the CPU default), per batch, all logits.
    for pre, labels in ((True, True), (False, True), (True, False)):
        cfg = train_cfg(
            tmp_path, base, subset, f"training.pre_encode={pre}", f"training.run_name={pre}{labels}",
            f"training.logits_at_labels={labels}", "training.per_device_batch_size=4",
            "model.frames=2", "model.max_length=96",
        )  # fmt: skip
        out = run(cfg)
        metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        counts = json.loads((out / "manifest.json").read_text())["counts"]
        runs[pre, labels] = ([m["loss"] for m in metrics if "loss" in m], counts)
    (losses, counts), (plain_losses, plain_counts) = runs[True, True], runs[False, True]
    np.testing.assert_allclose(runs[True, False][0], losses, rtol=1e-4, atol=1e-5)
    assert counts["pre_encoded"] and not plain_counts["pre_encoded"]
    assert counts["pre_encode_rows"] == 12 and counts["pre_encode_distinct_media"] == 3
    assert counts["pre_encode_too_long"] == 2
    assert counts["dropped_too_long_this_session"] == plain_counts["dropped_too_long_this_session"]
    assert counts["dropped_too_long_this_session"] == 4  # 2 long rows x 2 epochs
    assert counts["tokens"] == plain_counts["tokens"] and len(losses) == len(plain_losses) > 3
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-4, atol=1e-5)


def test_each_clip_is_decoded_once_and_its_patches_kept_once(tmp_path: Path, base: Path) -> None:
    from gdo.models import load_model
    from gdo.training.data import load_subset

    cfg = train_cfg(tmp_path, base, media_subset(tmp_path), "model.frames=2")
    vlm = load_model(cfg.model, str(base))
    decoded = []
    real = vlm.load_media
    vlm.load_media = lambda row: decoded.append(row["uid"]) or real(row)
    rows = load_subset(cfg.training.subset)
    encoded = pre_encode(vlm, rows, chunk=4)
    assert decoded == ["v00", "v10", "v20"]  # one per clip, not per QA turn
    videos = [e for r, e in zip(rows, encoded.items, strict=True) if r["media_kind"] == "video"]
    assert videos[0].vision is videos[1].vision and encoded.counts["patches_shared"] == 3
    plain = vlm.collate([rows[0], rows[6]])
    again = vlm.collate_encoded([encoded.items[0], encoded.items[6]])
    assert all(torch.equal(plain[k], again[k]) for k in plain)


def test_too_large_to_hold_falls_back_to_encoding_per_batch(tmp_path: Path, base: Path) -> None:
    subset = media_subset(tmp_path)
    rows = pd.read_parquet(subset).to_dict("records")
    # 3 clips x 2 frames x 1024 pixels x (uint8 + float32 patches of 3 channels)
    assert estimate_mb(rows, frames=2, max_pixels=1024) == pytest.approx(3 * 2 * 1024 * 15 / 2**20)
    cfg = train_cfg(
        tmp_path, base, subset, "training.pre_encode_max_mb=0.01", "model.frames=2",
        "model.max_length=96", "training.epochs=1",
    )  # fmt: skip
    counts = json.loads((run(cfg) / "manifest.json").read_text())["counts"]
    assert counts["pre_encoded"] is False and counts["dropped_too_long_this_session"] == 2


def test_logits_at_the_answers_only_give_the_same_loss_and_gradients(base: Path) -> None:
    from test_training import _row

    from gdo.models import load_model
    from gdo.training.data import logits_at_labels

    cfg = train_cfg(Path("/unused"), base, Path("/unused"))
    vlm = load_model(cfg.model, str(base))
    model = vlm.model.train()
    rows = [_row(i, f"what colour is the {t} ?", c) for i, (t, c) in
            enumerate([("cube", "red"), ("star", "blue green"), ("ring", "yellow")])]  # fmt: skip
    grads = []
    for collate in (vlm.collate, logits_at_labels(vlm.collate)):
        batch = collate(rows)
        model.zero_grad()
        out = model(**batch)
        out.loss.backward()
        grads.append(
            (
                out.loss.item(),
                out.logits.shape[:-1],
                [p.grad.clone() for p in model.parameters() if p.grad is not None],
            )
        )
    (loss, full, plain), (loss_kept, kept, sparse) = grads
    assert loss_kept == pytest.approx(loss, abs=1e-6)
    assert kept == (2 + 3 + 2,) and full == batch["input_ids"].shape  # answers + end tokens
    assert len(plain) == len(sparse) > 10  # the language model's parameters (text rows)
    for a, b in zip(plain, sparse, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
