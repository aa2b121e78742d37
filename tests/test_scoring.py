"""The shared score: the paper's q, SC fallback, ablations, exclusions, the stage's files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import compose
from synthetic import make_pool

from gdo.columns import (
    AMM,
    CLUSTER_HARD,
    CLUSTER_REP,
    FRAME_DIV,
    LOSS_BLIND,
    LOSS_VISUAL,
    PPL,
    SC,
    TNC,
    VDS,
)
from gdo.scoring.quality import quality_score, sigmoid
from gdo.scoring.stage import score_candidates
from gdo.utils.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def score_conf():
    return compose([]).score


def _desc(**over) -> pd.DataFrame:
    """Three rows with hand-set z columns (so q can be checked by hand)."""
    base = {
        "uid": ["a", "b", "c"],
        VDS: [0.5, 1.0, 0.0],
        FRAME_DIV: [0.1, 0.0, 0.2],
        LOSS_VISUAL: [1.0, 2.0, 3.0],
        LOSS_BLIND: [1.5, 3.0, 3.0],
        PPL: [2.7, 7.4, 20.0],
        AMM: [1.0, 0.0, 2.0],
        TNC: [1.0, 0.0, 0.5],
        SC: [0.9, 0.5, np.nan],
        CLUSTER_REP: [0.8, 0.5, 0.2],
        CLUSTER_HARD: [0.2, 0.5, 0.8],
        "z_vds": [0.0, 1.0, -1.0],
        "z_frame_div": [0.5, -0.5, 1.0],
        "z_loss_visual": [-1.0, 0.0, 1.0],
        "z_loss_blind": [-0.5, 0.5, 0.5],
        "z_ppl": [-1.0, 0.0, 2.0],
        "z_amm": [0.0, -1.0, 1.0],
    }
    base.update(over)
    return pd.DataFrame(base)


def test_q_matches_the_reference_formula_by_hand(score_conf) -> None:
    res = quality_score(_desc(), score_conf)
    q = res.frame.set_index("uid")["q"]
    s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    # row a: sigmoid(0+0.5), sc 0.9, exp(-1), exp(0), tnc 1, rep .8, hard .2
    a = 0.28 * s(0.5) + 0.18 * 0.9 + 0.14 * math.exp(-1) + 0.12 * 1 + 0.12 * 1 + 0.08 + 0.012
    assert q["a"] == pytest.approx(a, abs=1e-5)
    # row c: SC missing -> sigmoid(0.6*z(vds) - 0.2*|z(ppl)|) = sigmoid(-0.6 - 0.4)
    c = 0.28 * s(0.0) + 0.18 * s(-1.0) + 0.14 * math.exp(-2) + 0.12 * math.exp(-1)
    c += 0.12 * 0.5 + 0.10 * 0.2 + 0.06 * 0.8
    assert q["c"] == pytest.approx(c, abs=1e-5)
    assert res.sc_fallback_rows == 1
    vds3 = res.frame.set_index("uid")["vds3"]
    assert vds3["a"] == pytest.approx(1.0 - 0.5 + 0.5)  # -z(lv) + z(lb) + z(fd)
    assert vds3["b"] == pytest.approx(0.0 + 0.5 - 0.5)


def test_sc_column_absent_uses_the_fallback_for_every_row(score_conf) -> None:
    res = quality_score(_desc().drop(columns=[SC]), score_conf)
    assert res.sc_fallback_rows == 3
    expect = sigmoid(0.6 * np.array([0.0, 1.0, -1.0]) - 0.2 * np.abs([-1.0, 0.0, 2.0]))
    np.testing.assert_allclose(res.frame["sc_used"], expect, rtol=1e-5)


def test_nonfinite_descriptor_rows_are_excluded_and_counted(score_conf) -> None:
    res = quality_score(_desc(ppl=[2.7, np.inf, 20.0], amm=[np.nan, 0.0, 2.0]), score_conf)
    assert list(res.frame["uid"]) == ["c"]
    assert res.excluded == {"nonfinite_ppl": 1, "nonfinite_amm": 1}


def test_missing_columns_are_named_unless_the_ablation_drops_them() -> None:
    conf = compose([]).score
    with pytest.raises(InputError) as exc:
        quality_score(_desc().drop(columns=[PPL, LOSS_BLIND]), conf)
    assert PPL in str(exc.value) and LOSS_BLIND in str(exc.value)
    with pytest.raises(InputError, match=AMM):
        quality_score(_desc(amm=[np.nan] * 3), conf)  # a disabled descriptor
    no_all3 = compose(["score=no_all3"]).score
    slim = _desc().drop(columns=[PPL, "z_ppl", VDS, "z_vds", LOSS_BLIND, LOSS_VISUAL, SC])
    res = quality_score(slim, no_all3)
    assert len(res.frame) == 3 and res.dropped == [PPL, SC, VDS]


def test_no_vds_ablation_ignores_visual_dependency() -> None:
    conf = compose(["score=no_vds"]).score
    q1 = quality_score(_desc(), conf).frame["q"].to_numpy()
    q2 = quality_score(_desc(z_vds=[3.0, -3.0, 0.0], vds=[9.0, -9.0, 0.0]), conf).frame["q"]
    np.testing.assert_allclose(q1, q2.to_numpy())
    assert (quality_score(_desc(), conf).frame["vds3"] == 0).all()
    # with VDS, the same change moves q
    full = compose([]).score
    q3 = quality_score(_desc(z_vds=[3.0, -3.0, 0.0]), full).frame["q"].to_numpy()
    assert not np.allclose(quality_score(_desc(), full).frame["q"].to_numpy(), q3)


@pytest.mark.parametrize("ablation", ["no_ppl", "no_sc"])
def test_ablations_drop_their_term(ablation: str) -> None:
    conf = compose([f"score={ablation}"]).score
    col = {"no_ppl": "z_ppl", "no_sc": SC}[ablation]
    a = quality_score(_desc(), conf).frame["q"].to_numpy()
    b = quality_score(_desc(**{col: [0.1, 0.2, 0.3]}), conf).frame["q"].to_numpy()
    np.testing.assert_allclose(a, b)


def test_unknown_drop_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ssc"):
        quality_score(_desc(), compose(["score.drop=[ssc]"]).score)


def test_score_candidates_counts_every_exclusion(score_conf) -> None:
    pool, desc, _ = make_pool(400, seed=3, failed_rate=0.05)
    desc = desc[desc["uid"] != pool["uid"].iloc[0]]  # one candidate without descriptors
    desc.loc[desc.index[5], "z_amm"] = np.nan
    scores, counts = score_candidates(pool, desc, score_conf)
    ex = counts["excluded"]
    assert ex["missing_descriptors"] == 1 and ex["status_failed"] > 0 and ex["nonfinite_amm"] <= 1
    assert len(scores) + counts["excluded_total"] == len(pool)
    assert scores["uid"].is_monotonic_increasing and scores["uid"].is_unique
    assert np.isfinite(scores["score"]).all()
    v = scores["is_video"].to_numpy()
    np.testing.assert_array_equal(scores["score"][v], scores["score_video"][v])
    np.testing.assert_array_equal(scores["score"][~v], scores["score_image"][~v])


def test_goal_relevance_weight_moves_the_score() -> None:
    pool, desc, _ = make_pool(600, seed=4)
    conf = compose(
        [
            "score.goal_benchmark=mvbench",
            "score.mix.video.goal_relevance=5",
            "score.mix.image.goal_relevance=5",
        ]
    ).score
    scores, _ = score_candidates(pool, desc, conf)
    base, _ = score_candidates(pool, desc, compose([]).score)
    rel = scores["goal_rel_mvbench"]
    assert np.corrcoef(scores["score"], rel)[0, 1] > np.corrcoef(base["score"], rel)[0, 1] + 0.2
    bad = compose(["score.goal_benchmark=lvbench", "score.mix.video.goal_relevance=1"]).score
    with pytest.raises(InputError, match="goal_rel_lvbench"):
        score_candidates(pool, desc, bad)


def test_stage_writes_scores_and_manifest(cfg_factory, tmp_path) -> None:
    from gdo.scoring.stage import run
    from gdo.utils.manifest import read_manifest

    cfg = cfg_factory("name=t")
    with pytest.raises(InputError, match="gdo pool"):
        run(cfg)
    pool, desc, _ = make_pool(300, seed=5, failed_rate=0.02)
    wd = tmp_path / "outputs" / "t"
    (wd / "pool").mkdir(parents=True)
    (wd / "descriptors").mkdir(parents=True)
    pool.to_parquet(wd / "pool" / "pool.parquet")
    desc.to_parquet(wd / "descriptors" / "descriptors.parquet")
    path = run(cfg)
    scores = pd.read_parquet(path)
    m = read_manifest(path.parent)
    assert m["counts"]["scored"] == len(scores) and m["key"]
    assert m["counts"]["scored"] + m["counts"]["excluded_total"] == len(pool)
    assert {
        "q",
        "vds3",
        "score_video",
        "score_image",
        "score",
        "temporal",
        "bucket",
        "source_group",
        "duration_bin",
        "qlen_bin",
        "alen_bin",
        "is_mcq",
    } <= set(scores.columns)


def test_shuffled_descriptors_move_every_value_to_another_candidate(score_conf) -> None:
    """The shuffled-descriptor control: the same descriptor values, on other candidates, so
    the temporal tag and the scores no longer follow the candidates; the pool's own columns
    (bucket, video) stay where they are."""
    pool, desc, _ = make_pool(400, seed=3, failed_rate=0.0)
    plain, _ = score_candidates(pool, desc, score_conf)
    conf = score_conf.copy()
    conf.shuffle_descriptors, conf.shuffle_seed = True, 7
    shuffled, counts = score_candidates(pool, desc, conf)
    assert counts["excluded_total"] == 0 and list(shuffled["uid"]) == list(plain["uid"])
    # the same values overall ...
    np.testing.assert_allclose(np.sort(shuffled[TNC]), np.sort(plain[TNC]))
    np.testing.assert_allclose(np.sort(shuffled["vds3"]), np.sort(plain["vds3"]), rtol=1e-6)
    # ... on other candidates
    assert (shuffled["vds3"].to_numpy() != plain["vds3"].to_numpy()).mean() > 0.9
    np.testing.assert_array_equal(shuffled["is_video"], plain["is_video"])
    # seeded: the same permutation twice
    again, _ = score_candidates(pool, desc, conf)
    np.testing.assert_array_equal(again["score"], shuffled["score"])
