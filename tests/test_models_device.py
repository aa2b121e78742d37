"""One device rule for every stage that loads a model (``model.device``, CUDA simulated)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import gdo.models
from gdo.models.device import resolve_attention, resolve_device, resolve_dtype
from gdo.utils.errors import ConfigError


class Asked(Exception):
    """Raised by the recording loader once a stage has asked for its model."""


@pytest.fixture
def cuda(monkeypatch):
    """A machine that says it has CUDA (rank 0 of torchrun unless a test sets LOCAL_RANK)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "0")


@pytest.fixture
def asked(monkeypatch) -> list[str]:
    """The devices stages pass to ``gdo.models.load_model`` (which then stops the stage)."""
    devices: list[str] = []

    def record(model_cfg, path=None, device=None):
        devices.append(device)
        raise Asked

    monkeypatch.setattr(gdo.models, "load_model", record)
    return devices


def test_auto_is_this_ranks_gpu_when_there_is_one(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert resolve_device("auto") == "cuda:3" and resolve_device("cuda") == "cuda:3"
    assert resolve_device("cuda:1") == "cuda:1" and resolve_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="model.device=gpu"):
        resolve_device("gpu")


def test_auto_precision_and_attention_follow_the_device(monkeypatch) -> None:
    import gdo.models.device as device

    assert resolve_dtype("auto", "cuda:0") == "bfloat16"
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype("float16", "cuda:0") == "float16"
    with pytest.raises(ConfigError, match="model.dtype"):
        resolve_dtype("fp8", "cpu")
    monkeypatch.setattr(device, "flash_attention_installed", lambda: False)
    assert resolve_attention("auto", "cuda:0") == "sdpa"
    monkeypatch.setattr(device, "flash_attention_installed", lambda: True)
    assert resolve_attention("auto", "cuda:0") == "flash_attention_2"
    assert resolve_attention("auto", "cpu") == "sdpa"
    assert resolve_attention("eager", "cuda:0") == "eager"
    with pytest.raises(ConfigError, match="attn_implementation"):
        resolve_attention("flash", "cpu")


def test_describe_asks_for_the_configured_device(cfg_factory, cuda, asked) -> None:
    from gdo.descriptors.stage import load_describe_model

    for setting in ("auto", "cpu"):
        with pytest.raises(Asked):
            load_describe_model(cfg_factory(f"model.device={setting}", "model.path=/m"))
    assert asked == ["cuda:0", "cpu"]


def test_evaluate_asks_for_the_configured_device(cfg_factory, cuda, asked) -> None:
    from test_eval_support import fixture_benchmarks, make_training

    from gdo.evaluation.config import BenchmarkConf
    from gdo.evaluation.stage import run

    for setting in ("auto", "cpu"):
        cfg = cfg_factory("logger=none", f"model.device={setting}")
        cfg.eval.benchmarks = [BenchmarkConf(**b) for b in fixture_benchmarks()[:1]]
        make_training(Path(cfg.paths.work_dir), {})
        with pytest.raises(Asked):
            run(cfg)
    assert asked == ["cuda:0", "cpu"]


def test_train_asks_for_the_configured_device(tmp_path, cfg_factory, cuda, asked, monkeypatch):
    from test_training import write_subset

    import gdo.training.stage as stage

    wanted_cpu = []

    def arguments(tcfg, output_dir, seed, cpu=False):
        wanted_cpu.append(cpu)

    monkeypatch.setattr(stage, "build_training_args", arguments)
    subset = write_subset(tmp_path / "subset.parquet", n=4)
    (tmp_path / "base").mkdir()
    for setting in ("auto", "cpu"):
        cfg = cfg_factory(
            "logger=none", f"model.device={setting}", f"training.subset={subset}",
            f"training.init_from={tmp_path / 'base'}",
        )  # fmt: skip
        with pytest.raises(Asked):
            stage.run(cfg)
    assert asked == ["cuda:0", "cpu"] and wanted_cpu == [False, True]
