"""`gdo compare`: paired deltas of two runs' frontiers (gdo.frontier's paired bootstrap)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_eval_stage import Loader, _cfg
from test_eval_support import FakeVLM, make_training, skill_of

from gdo.cli import main as gdo_main
from gdo.compare import compare_runs, read_frontier
from gdo.evaluation.stage import run as evaluate
from gdo.frontier.stage import run as frontier


class SkilledLoader(Loader):
    """The same checkpoints answering right more often (``bonus`` on every skill)."""

    def __init__(self, bonus: float) -> None:
        super().__init__()
        self.bonus = bonus

    def __call__(self, model_cfg, path: str) -> FakeVLM:
        super().__call__(model_cfg, path)
        return FakeVLM(path, self.gold, min(1.0, skill_of(path) + self.bonus))


def _run(cfg_factory, bonus: float) -> Path:
    cfg = _cfg(cfg_factory, f"name=run{int(bonus * 100)}", "eval.frontier.n_bootstrap=100")
    work = Path(cfg.paths.work_dir)
    make_training(work, {"uniform": [200, 400, 600], "temp_plus": [100, 200, 300]})
    evaluate(cfg, load=SkilledLoader(bonus))
    frontier(cfg)
    return work


@pytest.fixture
def runs(cfg_factory) -> tuple[Path, Path]:
    return _run(cfg_factory, 0.0), _run(cfg_factory, 0.6)


def test_a_better_run_has_positive_paired_deltas(runs, capsys) -> None:
    a, b = runs
    assert gdo_main(["compare", str(b), str(a), "--n-bootstrap", "300"]) == 0
    text = capsys.readouterr().out
    assert "| benchmark | goal A | goal B |" in text
    df = compare_runs(read_frontier(str(b))[0], read_frontier(str(a))[0], n_boot=300)
    assert set(df["goal_a"]) == {"temp_plus", "uniform"}
    assert {"mvbench", "videomme", "mlvu", "lvbench"} <= set(df["benchmark"])
    # The fixture suites hold 4-9 questions: B is never worse, mostly better, and the
    # paired interval excludes 0 where the gap is wide enough.
    assert (df["delta"] >= 0).all() and (df["delta"] > 0).sum() >= 6
    assert (df["delta_lo"] <= df["delta"]).all() and (df["delta"] <= df["delta_hi"]).all()
    assert (df["n_unpaired"] == 0).all() and (df["delta_lo"] > 0).sum() >= 2
    for r in df.itertuples():
        assert f"| {r.benchmark} | {r.goal_a} | {r.goal_b} |" in text


def test_goal_against_goal_and_at_a_sample_count(runs, tmp_path) -> None:
    a, _ = runs
    out = tmp_path / "cmp.csv"
    args = ["compare", f"{a}:temp_plus", f"{a}:uniform", "--n-bootstrap", "200", "--out", str(out)]
    assert gdo_main(args) == 0
    df = pd.read_csv(out)
    assert set(df["goal_a"]) == {"temp_plus"} and set(df["goal_b"]) == {"uniform"}
    assert (df["samples_a"] == 300).all() and (df["samples_b"] == 600).all()
    same = compare_runs(read_frontier(str(a))[0], read_frontier(str(a))[0], at="0", n_boot=100)
    # At 0 samples every goal is the base model: no difference at all.
    assert (
        (same["delta"] == 0).all()
        and (same["delta_lo"] == 0).all()
        and (same["delta_hi"] == 0).all()
    )


def test_bad_runs_fail_with_one_line(runs, tmp_path, capsys) -> None:
    a, _ = runs
    assert gdo_main(["compare", str(tmp_path / "none"), str(a)]) == 1
    assert "gdo compare: error:" in capsys.readouterr().err
    assert gdo_main(["compare", f"{a}:temp_plus", str(a)]) == 1
    assert "a goal on both sides or on neither" in capsys.readouterr().err
    assert gdo_main(["compare", f"{a}:nosuch", f"{a}:uniform"]) == 1
    assert gdo_main(["compare", str(a), str(a), "--at", "last"]) == 1
