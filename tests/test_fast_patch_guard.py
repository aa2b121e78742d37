"""Each patch of transformers internals names the release it was written against and
refuses another one loudly (gdo.models.fast.patch_guard)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import torch
from test_models import TEXTS, model_cfg

from gdo.models import build_tiny, load_model, vocabulary_from_texts
from gdo.models.fast.patch_guard import PATCHES, check_patch, installed_version
from gdo.utils.errors import ConfigError

torch.set_num_threads(1)


def test_every_patch_is_guarded_where_it_patches() -> None:
    for name, patch in PATCHES.items():
        source = inspect.getsource(importlib.import_module(patch.module))
        assert f'check_patch("{name}")' in source, f"{patch.module} does not check {name}"


def test_every_module_of_the_speed_layer_names_its_release() -> None:
    # Each module of gdo.models.fast replaces or relies on a transformers internal; only
    # the guard itself and the instance-patching helper do not.
    import gdo.models.fast as fast

    folder = Path(fast.__file__).parent
    modules = {f"gdo.models.fast.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
    helpers = {"gdo.models.fast.patch_guard", "gdo.models.fast.instance_patch"}
    assert {p.module for p in PATCHES.values()} == modules - helpers


def test_every_patch_names_equality_tests_that_exist() -> None:
    root = Path(__file__).resolve().parents[1]
    for name, patch in PATCHES.items():
        for test in patch.test.split(", "):
            assert (root / test).is_file(), f"{name}: {test} does not exist"


def test_the_installed_transformers_is_the_one_the_patches_were_written_for() -> None:
    import transformers

    assert installed_version() == ".".join(transformers.__version__.split(".")[:2])
    for name in PATCHES:
        check_patch(name)  # a new release: run the patch's tests, then update its entry


@pytest.fixture
def other_release(monkeypatch):
    from gdo.models.fast import patch_guard

    monkeypatch.setattr(patch_guard, "installed_version", lambda: "9.1")


def test_another_release_is_refused_with_the_patch_and_its_switch(other_release) -> None:
    with pytest.raises(ConfigError) as exc:
        check_patch("fast_vision_attention")
    msg = str(exc.value)
    assert "written against transformers 5.25; this is transformers 9.1" in msg
    assert "model.fast_vision_attention=false" in msg and "tests/test_fast_attention.py" in msg


def test_loading_a_model_on_another_release_fails_unless_the_patches_are_off(
    tmp_path, other_release
) -> None:
    cfg = model_cfg()
    folder = build_tiny(cfg, tmp_path / "model", vocabulary_from_texts(TEXTS))
    with pytest.raises(ConfigError, match="gdo.models.fast.vision_attention"):
        load_model(cfg, str(folder))
    off = model_cfg(fast_vision_attention=False, linear_patch_embed=False, pack_sequences=False)
    assert load_model(off, str(folder)) is not None
