"""Controls: per-seed sharing with another experiment, checkpoint sharing, the control
configs, and the findings the report gets (directions, not numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gdo import pipeline
from gdo.frontier import controls
from gdo.utils.errors import ConfigError


def test_a_sharing_experiment_links_each_seed_to_the_same_seed_folder(cfg_factory) -> None:
    cfg = cfg_factory("name=ctl", "run.share_from=${paths.output_dir}/main", "run.seeds=[0,1]")
    out = Path(cfg.paths.output_dir)
    (out / "main-seed1" / "train" / "uniform").mkdir(parents=True)
    seed0, seed1 = (pipeline.seed_config(cfg, s, 2) for s in (0, 1))
    # seed 1 of the shared experiment exists: its folder (baselines + links) is the source
    assert Path(seed1.run.share_from) == out / "main-seed1"
    # seed 0's folder does not: the experiment folder itself
    assert Path(seed0.run.share_from) == out / "main"
    assert Path(seed1.paths.work_dir).name == "ctl-seed1"


def test_share_checkpoints_links_subsets_and_checkpoints_not_evaluations(cfg_factory) -> None:
    cfg = cfg_factory(
        "name=rev", "run.share_from=${paths.output_dir}/main", "run.share_checkpoints=true",
        "run.goals=[uniform,temp_plus]",
    )  # fmt: skip
    src = Path(cfg.paths.output_dir) / "main"
    for goal in ("uniform", "temp_plus"):
        (src / "train" / goal / "checkpoints" / "ckpt-10").mkdir(parents=True)
        (src / "subsets" / goal).mkdir(parents=True)
        (src / "eval" / goal).mkdir(parents=True)
    pipeline.link_shared(cfg)
    dst = Path(cfg.paths.work_dir)
    assert (dst / "train" / "temp_plus").is_symlink()
    assert (dst / "train" / "temp_plus" / "checkpoints" / "ckpt-10").is_dir()
    assert (dst / "subsets" / "uniform").is_symlink()
    assert not (dst / "eval").exists()
    pipeline.link_shared(cfg)  # idempotent


def test_share_checkpoints_names_a_missing_run(cfg_factory) -> None:
    cfg = cfg_factory(
        "name=rev2", "run.share_from=${paths.output_dir}/none", "run.share_checkpoints=true"
    )
    with pytest.raises(FileNotFoundError, match="run.share_checkpoints"):
        pipeline.link_shared(cfg)


def test_chained_links_are_recognised_on_a_rerun(cfg_factory) -> None:
    """A seed folder links to another seed folder that links to the shared artifact."""
    cfg = cfg_factory("name=c2", "run.share_from=${paths.output_dir}/main-seed0")
    out = Path(cfg.paths.output_dir)
    (out / "main" / "pool").mkdir(parents=True)
    (out / "main-seed0").mkdir(parents=True)
    (out / "main-seed0" / "pool").symlink_to(out / "main" / "pool", target_is_directory=True)
    pipeline.link_shared(cfg)
    pipeline.link_shared(cfg)
    assert (Path(cfg.paths.work_dir) / "pool").resolve() == (out / "main" / "pool").resolve()


@pytest.mark.parametrize(
    "name,kind",
    [
        ("demo_control_no_waste", "no_waste"),
        ("demo_control_shuffled", "shuffled"),
        ("demo_control_reversed", "time_reversed"),
    ],
)
def test_the_demo_controls_compose_as_controls(name: str, kind: str) -> None:
    cfg = pipeline.control_config(name, [0, 1, 2])
    assert cfg.run.control == kind and list(cfg.run.seeds) == [0, 1, 2]
    assert not cfg.run.controls


def test_demo_seeds_runs_the_three_controls(cfg_factory) -> None:
    cfg = cfg_factory("experiment=demo_seeds")
    assert list(cfg.run.controls) == [
        "demo_control_no_waste",
        "demo_control_shuffled",
        "demo_control_reversed",
    ]


def test_an_experiment_that_is_no_control_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a control"):
        pipeline.control_config("demo", [0])


def _main(rows: list[tuple[str, float, bool, float]]) -> pd.DataFrame:
    """main.parquet rows: (benchmark, delta, peak reached, reduction) for temp_plus."""
    return pd.DataFrame(
        [
            {"benchmark": b, "goal": "temp_plus", "delta": d, "delta_lo": d - 2,
             "delta_hi": d + 2, "peak_reached": r, "reduction": red if r else None}
            for b, d, r, red in rows
        ]
    )  # fmt: skip


def test_selection_controls_hold_only_in_the_expected_direction() -> None:
    main = _main([("all", 5.0, True, 14.0), ("mvbench", 3.0, True, 12.0)])
    shrunk = _main([("all", -4.0, False, 0), ("mvbench", 1.0, True, 2.0)])
    kept = _main([("all", 6.0, True, 20.0), ("mvbench", 4.0, True, 12.0)])
    good = controls.compare_selection("shuffled", main, shrunk, "temp_plus")
    assert [r["holds"] for r in good] == [True, True]
    bad = controls.compare_selection("shuffled", main, kept, "temp_plus")
    assert [r["holds"] for r in bad] == [False, False]
    nw = controls.compare_selection("no_waste", main, kept, "temp_plus")
    assert [r["holds"] for r in nw] == [False, False]


def _table(acc: dict[str, float]) -> pd.DataFrame:
    rows = []
    for goal, a in acc.items():
        rows.append({"benchmark": "temporal", "goal": goal, "accuracy": a,
                     "is_final": goal != "base", "is_base": goal == "base"})  # fmt: skip
    return pd.DataFrame(rows)


def test_reversed_control_holds_when_trained_models_drop() -> None:
    given = _table({"base": 49.0, "uniform": 70.0, "temp_plus": 90.0})
    rev = _table({"base": 50.0, "uniform": 40.0, "temp_plus": 95.0})
    rows = {r["goal"]: r for r in controls.compare_reversed(given, rev)}
    assert rows["base"]["holds"] is None
    assert rows["uniform"]["holds"] and not rows["temp_plus"]["holds"]


def test_summary_and_report_section(tmp_path: Path) -> None:
    main_dir, ctl_dir = tmp_path / "main", tmp_path / "ctl"
    for d in (main_dir, ctl_dir):
        d.mkdir()
    _main([("all", 5.0, True, 14.0)]).to_parquet(main_dir / "main.parquet")
    _main([("all", -1.0, False, 0)]).to_parquet(ctl_dir / "main.parquet")
    found = controls.summarise("shuffled", "demo_control_shuffled", main_dir, ctl_dir, "temp_plus")
    assert (found["holds"], found["checks"]) == (1, 1)
    report = main_dir / "report.md"
    report.write_text("# demo\n\ntext\n")
    controls.attach(report, [found], "uniform")
    controls.attach(report, [found], "uniform")  # replaced, not appended twice
    text = report.read_text()
    assert text.count(controls.SECTION) == 1 and "14.0x" in text and "not reached" in text
    assert (main_dir / "controls.json").exists()
    with pytest.raises(ValueError, match="run.control"):
        controls.summarise("other", "x", main_dir, ctl_dir, "temp_plus")
    assert np.isinf(controls._reduction(pd.Series({"peak_reached": True, "reduction": None})))
