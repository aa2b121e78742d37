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


def _leaves(node: dict, prefix: str = "") -> list[str]:
    """Dotted paths of a plain config dict's values (an empty dict or list is a value)."""
    out = []
    for key, value in node.items():
        if isinstance(value, dict) and value:
            out += _leaves(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def test_the_goal_schema_has_no_defaults() -> None:
    # A default in GoalConf is a number a goal file silently gets when it omits the key.
    from omegaconf import OmegaConf

    from gdo.selection.config import GoalConf

    bare = OmegaConf.missing_keys(OmegaConf.structured(GoalConf))
    stated = _leaves(OmegaConf.to_container(compose(["goal=temp_plus"]).goal))
    assert sorted(stated) == sorted(bare)


@pytest.mark.parametrize("goal", sorted(p.stem for p in (conf_dir() / "goal").glob("*.yaml")))
def test_every_goal_preset_states_every_key(goal: str) -> None:
    from omegaconf import OmegaConf

    from gdo.config import check_config

    cfg = compose([f"goal={goal}"])
    assert not OmegaConf.missing_keys(cfg.goal)
    check_config(cfg)


def _partial_goal(tmp_path, drop: tuple[str, ...]) -> str:
    """A copy of conf/goal/temp.yaml without the lines starting with ``drop``, as goal
    ``partial`` in a config search path of its own; returns the search path override."""
    lines = (conf_dir() / "goal" / "temp.yaml").read_text().splitlines()
    kept = [ln for ln in lines if not ln.startswith(drop)]
    (tmp_path / "goal").mkdir()
    (tmp_path / "goal" / "partial.yaml").write_text(
        "\n".join(kept).replace("name: temp", "name: partial") + "\n"
    )
    return f"hydra.searchpath=[file://{tmp_path}]"


def test_an_incomplete_goal_file_fails_with_the_key_name(tmp_path) -> None:
    from gdo.config import check_config
    from gdo.utils.errors import ConfigError

    cfg = compose([_partial_goal(tmp_path, ("max_ratio:", "  video:")), "goal=partial"])
    with pytest.raises(ConfigError) as exc:
        check_config(cfg)
    msg = str(exc.value)
    assert "goal 'partial'" in msg
    for key in ("goal.max_ratio", "goal.mix.video.q", "goal.mix.video.vds3"):
        assert key in msg
    assert "goal.min_count" not in msg  # stated keys are not listed


def test_gdo_select_names_the_key_a_goal_file_omits(tmp_path, capsys) -> None:
    from gdo.cli import main

    search = _partial_goal(tmp_path, ("score_floor_quantile:",))
    rc = main(["select", search, "goal=partial", f"paths.root_dir={tmp_path}"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "goal.score_floor_quantile" in err and "Traceback" not in err


def test_an_incomplete_score_mix_fails_with_the_key_name() -> None:
    from omegaconf import open_dict

    from gdo.config import check_config
    from gdo.utils.errors import ConfigError

    cfg = compose([])
    with open_dict(cfg):
        cfg.score.mix.base.rarity = "???"
    with pytest.raises(ConfigError, match=r"score 'default' does not set score\.mix\.base\.rarity"):
        check_config(cfg)


def _old_name_experiment(tmp_path) -> str:
    """An override file written before ``descriptors.items`` became ``descriptors.specs``."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "old_items.yaml").write_text(
        "# @package _global_\ndescriptors:\n  items:\n    motion:\n      size: 32\n"
    )
    return f"hydra.searchpath=[file://{tmp_path}]"


def test_the_old_descriptors_items_key_names_its_new_name(tmp_path) -> None:
    from gdo.config import check_config
    from gdo.utils.errors import ConfigError

    cfg = compose([_old_name_experiment(tmp_path), "experiment=old_items"])
    with pytest.raises(ConfigError, match=r"'descriptors\.items' is now 'descriptors\.specs'"):
        check_config(cfg)
    check_config(compose(["descriptors.specs.motion.size=32"]))  # the new name passes


MOVED = "'descriptors.items' is now 'descriptors.specs'"


@pytest.mark.parametrize(
    ("override", "moved"),
    [
        ("descriptors.items.motion.size=32", MOVED),
        ("+descriptors.items.coverage.k=4", MOVED),
        ("descriptors.items.self_consistency=null", MOVED),
        ("~descriptors.items.coverage", MOVED),
        (
            "training.pretrain.lr=5e-4",
            "'training.pretrain.lr' is now 'training.pretrain.recipe.lr'",
        ),
    ],
)
def test_gdo_refuses_an_override_of_the_old_name_with_the_new_one(override, moved, capsys) -> None:
    from gdo.cli import main

    assert main(["describe", override]) == 1
    err = capsys.readouterr().err
    assert moved in err and "Traceback" not in err


def test_the_specs_rename_keeps_the_descriptor_keys(tmp_path) -> None:
    """describe's shard folder and merge's key hash what each descriptor is, not the name
    of the config node holding them: the values pinned here are what the code computed
    when the node was still ``descriptors.items``, so caches written then stay valid."""
    import json

    from gdo.descriptors.keys import sample_key
    from gdo.descriptors.merge import merge_key
    from gdo.descriptors.registry import build

    pool = tmp_path / "outputs" / "default" / "pool"
    pool.mkdir(parents=True)
    (pool / "manifest.json").write_text(json.dumps({"key": "0123456789abcdef"}))
    # A fixed world folder: goal relevance's key holds its benchmark index's path.
    cfg = compose([f"paths.root_dir={tmp_path}", "paths.world_dir=/world"])
    specs = build(cfg.descriptors.specs)
    skey = sample_key(cfg, specs, needs_model=False)
    assert (skey, merge_key(cfg, skey, specs)) == ("454932cbda180fdd", "d74cd392658485d2")
