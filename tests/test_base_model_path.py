"""One lookup of the model a stage starts from (gdo.utils.stage.base_model_path), used by
describe (descriptors.model_path), train (training.init_from) and evaluate (eval.base_path)."""

from __future__ import annotations

import pytest
from conftest import compose

from gdo.utils.errors import InputError
from gdo.utils.stage import base_model_path


def test_the_stage_key_then_model_path_then_the_pretrained_base(tmp_path) -> None:
    cfg = compose([f"paths.root_dir={tmp_path}"])
    base = tmp_path / "outputs" / "default" / "base_model"
    with pytest.raises(InputError, match="run `gdo pretrain` first"):
        base_model_path(cfg)
    assert base_model_path(cfg, required=False) is None
    base.mkdir(parents=True)
    assert base_model_path(cfg) == str(base.resolve())
    cfg.model.path = "org/model"
    assert base_model_path(cfg) == "org/model"
    assert base_model_path(cfg, "/models/mine") == "/models/mine"


def test_describe_train_and_evaluate_start_from_the_same_model(tmp_path) -> None:
    from gdo.descriptors.stage import model_dir
    from gdo.evaluation.stage import base_checkpoint
    from gdo.training.stage import default_init

    cfg = compose([f"paths.root_dir={tmp_path}"])
    assert base_checkpoint(cfg) is None
    with pytest.raises(InputError, match="no base model"):
        default_init(cfg)  # before: a path to a missing folder, refused later by train
    (tmp_path / "outputs" / "default" / "base_model").mkdir(parents=True)
    found = {model_dir(cfg), default_init(cfg), str(base_checkpoint(cfg).path)}
    assert len(found) == 1
    cfg.descriptors.model_path, cfg.training.init_from = "/d", "/t"
    cfg.eval.base_path = "/e"
    assert (model_dir(cfg), default_init(cfg), str(base_checkpoint(cfg).path)) == ("/d", "/t", "/e")
