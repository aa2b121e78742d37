"""Every file of every config group composes; typos and wrong types fail by name."""

from __future__ import annotations

import pytest
from conftest import compose
from hydra.errors import ConfigCompositionException

from gdo.cli import conf_dir

SKIP_GROUPS = {"hydra", "sweep"}  # hydra internals; sweeps are checked in their own test


def group_options() -> list[tuple[str, str]]:
    out = []
    for group in sorted(p for p in conf_dir().iterdir() if p.is_dir()):
        if group.name in SKIP_GROUPS:
            continue
        for f in sorted(group.glob("*.yaml")):
            out.append((group.name, f.stem))
    return out


@pytest.mark.parametrize(("group", "option"), group_options())
def test_every_group_file_composes(group: str, option: str) -> None:
    cfg = compose([f"{group}={option}"])
    assert cfg.command == "run"


def test_sweep_files_compose() -> None:
    for f in sorted((conf_dir() / "sweep").glob("*.yaml")):
        cfg = compose([f"sweep={f.stem}"])
        assert cfg is not None


def test_typo_in_key_fails_with_the_key_name() -> None:
    with pytest.raises(ConfigCompositionException) as exc:
        compose(["goal.wieght=1.0"])
    assert "wieght" in str(exc.value.__cause__ or exc.value)


def test_wrong_type_fails_with_the_value() -> None:
    with pytest.raises(ConfigCompositionException) as exc:
        compose(["seed=notanint"])
    assert "notanint" in str(exc.value.__cause__ or exc.value)


def test_cli_help_lists_commands(capsys) -> None:
    from gdo.cli import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("run", "world", "pool", "describe", "select", "train", "evaluate", "frontier"):
        assert f"  {cmd}" in out


def test_experiment_values_override_the_root_config() -> None:
    # The root's own values (name: default) must not win over an experiment's.
    assert compose(["experiment=demo"]).name == "demo"
    cfg = compose(["experiment=ablation_no_vds"])
    assert (cfg.name, cfg.score.name) == ("ablation_no_vds", "no_vds")


def test_the_command_override_joins_the_user_overrides() -> None:
    from gdo.cli import with_command

    assert with_command(["-m", "a=1", "b=2"], "run") == ["-m", "command=run", "a=1", "b=2"]
    assert with_command(["a=1", "--cfg", "job"], "run") == ["command=run", "a=1", "--cfg", "job"]
    assert with_command(["--cfg", "job"], "select") == ["--cfg", "job", "command=select"]
    # A command=... among the overrides never replaces the subcommand's own.
    assert with_command(["command=run", "a=1"], "describe") == ["command=describe", "a=1"]
