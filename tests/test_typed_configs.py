"""Stages convert their config block once, at their entry, to its dataclass
(gdo.utils.typed): the inner functions get typed objects, and a stage's key is the one
the composed DictConfig gave (so every artifact made before stays fresh)."""

from __future__ import annotations

import json

import pytest
from conftest import compose
from omegaconf import OmegaConf

from gdo.dedup.config import NearDupConf
from gdo.evaluation.config import FrontierConf
from gdo.pool.config import BucketConf, PoolConf, PoolFileConf
from gdo.scoring.config import ScoreConf
from gdo.selection.config import GoalConf, SelectConf, TargetFileConf
from gdo.utils.conf import conf_dir
from gdo.utils.errors import ConfigError
from gdo.utils.manifest import content_hash, to_plain
from gdo.utils.typed import typed

GOALS = sorted(p.stem for p in (conf_dir() / "goal").glob("*.yaml"))
SCORES = sorted(p.stem for p in (conf_dir() / "score").glob("*.yaml"))
BLOCKS = [
    *[("score", ScoreConf, [f"score={s}"]) for s in SCORES],
    *[("goal", GoalConf, [f"goal={g}"]) for g in GOALS],
    ("goal", GoalConf, ["goal=target_custom", "goal.target.files=[{path: q.jsonl, weight: 2}]"]),
    ("select", SelectConf, ["select.budget=2000"]),
    ("pool", PoolConf, ["experiment=demo"]),
    ("pool", PoolConf, ["pool=example_real"]),
    ("eval.frontier", FrontierConf, ["experiment=demo"]),
]


def test_typed_gives_the_dataclass_with_interpolations_resolved() -> None:
    cfg = compose(["paths.root_dir=/r", "paths.world_dir=/w"])
    pool = typed(cfg.pool, PoolConf, "pool")
    assert type(pool) is PoolConf and type(pool.files[0]) is PoolFileConf
    assert type(pool.buckets) is BucketConf and type(pool.near_dup) is NearDupConf
    assert pool.files[0].path == "/w/pool/mixture.yaml"
    assert typed(pool, PoolConf, "pool") is pool  # already typed: as it is
    plain = typed({"files": [{"path": "p.jsonl"}]}, PoolConf, "pool")  # the Python API
    assert plain.files[0].format == "auto" and plain.near_dup == NearDupConf()


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"filez": []}, r"^pool: .*filez"),
        ({"files": [{"format": "llava"}]}, r"^pool: .*path"),  # a required value left out
        ({"on_error": {"a": 1}}, r"^pool: .*on_error"),
        ([{"path": "p.jsonl"}], r"^pool: expected a mapping of PoolConf"),
    ],
)
def test_typed_refuses_a_node_of_another_shape_by_its_name(node, message) -> None:
    with pytest.raises(ConfigError, match=message):
        typed(node, PoolConf, "pool")


@pytest.mark.parametrize(("where", "schema", "overrides"), BLOCKS)
def test_the_typed_block_hashes_like_the_composed_one(where, schema, overrides) -> None:
    """Keys (and manifests' configs) are made from the typed object now: the same data."""
    node = OmegaConf.select(compose(overrides), where)
    block = typed(node, schema, where)
    assert to_plain(block) == to_plain(node)
    assert content_hash(block, {"x": "1"}, 0) == content_hash(node, {"x": "1"}, 0)


def test_a_goal_from_files_reads_its_typed_entries() -> None:
    from gdo.selection.goal_file import target_files

    cfg = compose(["goal=target_custom", "goal.target.files=[{path: 'q/x.txt', weight: 2}]"])
    goal = typed(cfg.goal, GoalConf, "goal")
    assert type(goal.target.files[0]) is TargetFileConf
    (f,) = target_files(goal)
    assert f == {"path": "q/x.txt", "weight": 2.0, "kind": "questions"}


def test_stages_hand_their_inner_functions_typed_configs(tmp_path, monkeypatch) -> None:
    """What reaches score's, select's and pool's inner functions is the dataclass, not the
    DictConfig the stage was called with."""
    from synthetic import make_pool

    import gdo.pool.stage as pool_stage
    import gdo.scoring.stage as score_stage
    import gdo.selection.stage as select_stage

    seen: dict[str, list[type]] = {}

    def spy(module, name: str, *args_at: int) -> None:
        real = getattr(module, name)

        def wrapped(*args, **kwargs):
            seen[name] = [type(args[i]) for i in args_at]
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapped)

    spy(score_stage, "score_candidates", 2)
    spy(select_stage, "select_goal", 1, 2)
    spy(pool_stage, "build_pool", 0)

    pool, desc, _ = make_pool(400, seed=3)
    wd = tmp_path / "outputs" / "t"
    for sub, df in (("pool", pool), ("descriptors", desc)):
        (wd / sub).mkdir(parents=True)
        df.to_parquet(wd / sub / f"{sub}.parquet")
    cfg = compose([f"paths.root_dir={tmp_path}", "name=t", "logger=none", "goal=temp_plus"])
    score_stage.run(cfg)
    select_stage.run(cfg)
    jsonl = tmp_path / "p.jsonl"
    turns = [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A"}]
    jsonl.write_text(json.dumps({"id": "a", "conversations": turns}) + "\n")
    pool_stage.run(
        compose([f"paths.root_dir={tmp_path}", "name=p", f"pool.files=[{{path: {jsonl}}}]"])
    )
    assert seen == {
        "score_candidates": [ScoreConf],
        "select_goal": [GoalConf, SelectConf],
        "build_pool": [PoolConf],
    }
