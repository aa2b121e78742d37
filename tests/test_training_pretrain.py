"""``gdo pretrain`` on a small perception file in the world's format (LLaVA JSON + PNGs):
writes a loadable base model, caches by config, counts missing media."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import compose
from omegaconf import OmegaConf
from test_training import use_backend

from gdo.training.pretrain import pretrain_recipe, run
from gdo.training.stage import recipe_config
from gdo.utils.manifest import read_manifest

torch.set_num_threads(1)
FIXTURES = Path(__file__).parent / "fixtures"
COLOURS = {"red": (230, 30, 30), "green": (30, 200, 40), "blue": (40, 80, 255)}


def write_perception(world: Path, n: int = 24, missing: int = 1) -> None:
    """``<world>/pretrain/perception.json`` with image colour questions (+ missing media),
    and the world's ``vocabulary.json``."""
    from PIL import Image

    from gdo.world import vocabulary

    media = world / "media" / "pre"
    media.mkdir(parents=True)
    records = []
    names = list(COLOURS)
    for i in range(n + missing):
        colour = names[i % len(names)]
        if i < n:
            img = np.zeros((32, 32, 3), np.uint8)
            img[8:24, 8:24] = COLOURS[colour]
            Image.fromarray(img).save(media / f"{i}.png")
        records.append(
            {
                "id": f"p{i}",
                "image": f"pre/{i}.png",
                "conversations": [
                    {"from": "human", "value": "<image>\nwhat colour is the square?"},
                    {"from": "gpt", "value": colour},
                ],
            }
        )
    (world / "pretrain").mkdir(parents=True)
    (world / "pretrain" / "perception.json").write_text(json.dumps(records))
    (world / "vocabulary.json").write_text(json.dumps(vocabulary()))


@pytest.fixture
def backend(monkeypatch):
    import gdo.models

    monkeypatch.setattr(gdo.models, "load_model", gdo.models.load_model)
    use_backend()


def test_pretrain_writes_a_cached_loadable_base_model(tmp_path: Path, backend) -> None:
    cfg = compose(
        [
            f"paths.root_dir={tmp_path}",
            "logger=none",
            "training.pretrain.max_samples=48",
            "training.pretrain.recipe.per_device_batch_size=8",
            "model.tiny.hidden_size=32",
            "model.tiny.intermediate_size=64",
        ]
    )
    write_perception(Path(cfg.paths.world_dir))
    out = run(cfg)
    assert out == (tmp_path / "outputs" / "default" / "base_model").resolve()
    m = read_manifest(out)
    assert m["stage"] == "pretrain"
    assert m["counts"]["perception_rows"] == 25 and m["counts"]["skipped_missing_media"] == 1
    assert m["counts"]["steps"] == 6 and m["counts"]["samples"] == 48
    # A plain from_pretrained folder without the Trainer's resume state.
    assert (out / "config.json").exists() and (out / "model.safetensors").exists()
    assert not (out / "optimizer.pt").exists() and not list(out.glob("global_step*"))
    from gdo.models import load_model

    vlm = load_model(cfg.model, str(out))
    assert vlm.model.config.text_config.hidden_size == 32
    # Fresh: the second call trains nothing (the manifest is not rewritten).
    before = (out / "manifest.json").stat().st_mtime_ns
    assert run(cfg) == out
    assert (out / "manifest.json").stat().st_mtime_ns == before


def test_pretrain_recipe_budget_and_no_deepspeed() -> None:
    cfg = compose(["training=paper", "training.pretrain.max_samples=1000"])
    r = pretrain_recipe(cfg.training, world_size=2)
    assert r.max_steps == 16  # ceil(1000 / (32 x 2))
    assert r.deepspeed.stage == 0 and r.lr == cfg.training.pretrain.recipe.lr
    assert not r.bf16 and not any(r.freeze.values())


@pytest.mark.parametrize("case", json.loads((FIXTURES / "pretrain_recipe.json").read_text()))
def test_the_yaml_recipe_is_the_one_the_python_overrides_made(case) -> None:
    """The recipe moved from Python assignments to conf/training/pretrain/tiny.yaml; the
    fixture holds what the Python code made (its ``pretrain`` node aside, which moved):
    every training.* value, for the default, the demo, paper, h100 and a ZeRO-3 SFT
    recipe with options that must not reach the pretrain run (or must: overwrite)."""
    cfg = compose(case["overrides"])
    recipe = OmegaConf.to_container(pretrain_recipe(cfg.training, case["world_size"]))
    recipe.pop("pretrain")
    assert recipe == case["recipe"]


def test_a_recipe_override_reaches_the_run_and_its_key() -> None:
    base = pretrain_recipe(compose([]).training)
    r = pretrain_recipe(
        compose(
            ["training.pretrain.recipe.lr=5e-4", "training.pretrain.recipe.grad_accum=2"]
        ).training
    )
    assert (r.lr, r.grad_accum, r.max_steps) == (5e-4, 2, 125)  # 8000 / (32 x 2)
    assert recipe_config(r) != recipe_config(base)


def test_the_key_does_not_depend_on_how_the_work_dir_is_spelt() -> None:
    """A control sharing the demo's folder resolves it to an absolute path; the demo ran
    with a relative one. Both must find the same base model and trained runs fresh (a path
    in the key re-pretrained the demo's base model and re-described its pool)."""
    rel = compose(["experiment=demo", "paths.work_dir=./outputs/demo"])
    absolute = compose(
        ["experiment=demo_control_shuffled", f"paths.work_dir={Path('outputs/demo').resolve()}"]
    )
    assert rel.training.subset != absolute.training.subset  # the spelling differs ...
    for make in (lambda c: c, pretrain_recipe):  # ... the keys of train and pretrain do not
        assert recipe_config(make(rel.training)) == recipe_config(make(absolute.training))


def test_training_epochs_do_not_reach_the_pretrain_key() -> None:
    """Pre-training runs max_steps (from max_samples): an SFT override such as
    training.epochs=2 leaves the base model as it is and must not make it stale."""
    one, two = (compose(["experiment=demo", f"training.epochs={e}"]).training for e in (1, 2))
    assert recipe_config(pretrain_recipe(one)) == recipe_config(pretrain_recipe(two))
    assert recipe_config(one) != recipe_config(two)  # a fine-tune's epochs still count


def test_a_typo_in_the_recipe_fails_by_name() -> None:
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as exc:
        compose(["training.pretrain.recipe.lrr=1e-3"])
    assert "lrr" in str(exc.value.__cause__ or exc.value)


def test_pretrain_reads_the_worlds_vocabulary_file(tmp_path: Path) -> None:
    from gdo.training.pretrain import world_vocabulary
    from gdo.utils.errors import InputError
    from gdo.world import vocabulary

    cfg = compose([f"paths.root_dir={tmp_path}"])
    world = Path(cfg.paths.world_dir)
    with pytest.raises(InputError, match="run `gdo world` first"):
        world_vocabulary(cfg)
    world.mkdir(parents=True)
    (world / "vocabulary.json").write_text(json.dumps(vocabulary()))
    assert world_vocabulary(cfg) == vocabulary()
    (world / "vocabulary.json").write_text('{"red": 1}')
    with pytest.raises(InputError, match="a JSON list of words"):
        world_vocabulary(cfg)
