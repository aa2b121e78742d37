"""`gdo score` + `gdo select` on files: outputs, formats, byte-identical reruns, Uni-Nx."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import compose
from synthetic import make_pool

from gdo.scoring.stage import run as score_run
from gdo.selection.stage import run as select_run
from gdo.utils.errors import InputError

FILES = ("subset.parquet", "train.json", "train.jsonl")


def _setup(root: Path) -> None:
    pool, desc, _ = make_pool(1500, seed=21, failed_rate=0.01)
    wd = root / "outputs" / "s"
    for sub, df, name in (
        ("pool", pool, "pool.parquet"),
        ("descriptors", desc, "descriptors.parquet"),
    ):
        (wd / sub).mkdir(parents=True, exist_ok=True)
        df.to_parquet(wd / sub / name)


def _cfg(root: Path, *over: str):
    return compose([f"paths.root_dir={root}", "name=s", *over])


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same inputs and seed scored and selected in two separate folders."""
    outs = []
    for i in range(2):
        root = tmp_path_factory.mktemp(f"run{i}")
        _setup(root)
        score_run(_cfg(root))
        outs.append((root, select_run(_cfg(root, "goal=temp_plus"))))
    return outs


def test_outputs_exist_and_are_byte_identical_for_a_seed(two_runs) -> None:
    (_, a), (_, b) = two_runs
    for f in (*FILES, "report.md", "composition.png", "manifest.json"):
        assert (a / f).exists(), f
    for f in FILES:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_subset_and_training_files_agree(two_runs) -> None:
    (_, out), _ = two_runs
    subset = pd.read_parquet(out / "subset.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    n = manifest["counts"]["selected"]
    assert len(subset) == n and subset["uid"].is_unique
    assert {
        "question",
        "answer",
        "media",
        "score",
        "q",
        "vds3",
        "goal_score",
        "select_step",
    } <= set(subset.columns)
    llava = json.loads((out / "train.json").read_text())
    assert len(llava) == n
    rec = next(r for r in llava if "video" in r)
    assert rec["conversations"][0]["from"] == "human"
    assert rec["conversations"][0]["value"].startswith("<image>\n")
    assert rec["conversations"][1]["from"] == "gpt" and rec["data_source"]
    assert any("image" in r for r in llava)
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(rows) == n
    vrow = next(r for r in rows if "videos" in r)
    assert vrow["messages"][0]["role"] == "user" and vrow["messages"][0]["content"].startswith(
        "<video>"
    )
    assert vrow["messages"][1]["role"] == "assistant" and vrow["video_id"]
    irow = next(r for r in rows if "images" in r)
    assert irow["messages"][0]["content"].startswith("<image>")


def test_manifest_records_budget_constraints_and_counts(two_runs) -> None:
    (_, out), _ = two_runs
    m = json.loads((out / "manifest.json").read_text())
    assert m["budget"]["bound"] == "max_ratio" and m["budget"]["budget"] == m["counts"]["selected"]
    assert "budget:max_ratio" in m["bound_constraints"]
    names = {c["name"] for c in m["constraints"]}
    assert {"budget", "video_share_min", "video_share_max", "min_temporal_share_of_video"} <= names
    assert sum(v["subset"] for v in m["counts"]["per_stratum"].values()) == m["counts"]["selected"]
    assert set(m["counts"]["bucket"]) <= {"image", "short_video", "long_video"}
    report = (out / "report.md").read_text()
    assert "video_share_min" in report and "| image |" in report


def test_a_fresh_stage_is_skipped_and_a_changed_config_reruns(two_runs) -> None:
    (root, out), _ = two_runs
    mtime = (out / "subset.parquet").stat().st_mtime_ns
    assert select_run(_cfg(root, "goal=temp_plus")) == out
    assert (out / "subset.parquet").stat().st_mtime_ns == mtime  # fresh: not rewritten
    select_run(_cfg(root, "goal=temp_plus", "seed=1"))
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 1
    select_run(_cfg(root, "goal=temp_plus"))  # back to seed 0 for the other tests


def test_uniform_takes_ten_times_the_reference_goal(two_runs) -> None:
    (root, out), _ = two_runs
    ref = json.loads((out / "manifest.json").read_text())["counts"]["selected"]
    uni = select_run(_cfg(root, "goal=uniform"))
    m = json.loads((uni / "manifest.json").read_text())
    assert m["budget"]["bound"] == "uniform" and m["counts"]["selected"] == 10 * ref
    with pytest.raises(InputError, match="gdo select goal=diverse"):
        select_run(_cfg(root, "goal=uniform", "goal.reference_goal=diverse"))


def test_relax_error_stops_on_an_infeasible_budget(two_runs) -> None:
    (root, _), _ = two_runs
    from gdo.utils.errors import InfeasibleError

    with pytest.raises(InfeasibleError, match="budget"):
        select_run(_cfg(root, "goal=temp", "select.budget=100000", "select.relax=error"))
    out = select_run(_cfg(root, "goal=temp", "select.budget=100000", "select.relax=warn"))
    m = json.loads((out / "manifest.json").read_text())
    assert any(c["name"] == "budget" and c["status"] == "relaxed" for c in m["infeasible"])
