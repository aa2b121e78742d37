"""The `gdo pool` stage: config -> pool.parquet + manifest, dedup, cap, caching, world config."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from gdo.media import MediaError
from gdo.media.testing import write_image, write_video
from gdo.pool import build_pool
from gdo.pool.config import PoolFileConf
from gdo.pool.stage import run
from gdo.utils.manifest import read_manifest

FIX = Path(__file__).parent / "fixtures" / "pool"


def video_rec(i: int, video: str, questions: list[tuple[str, str]], source="0_30_s_toy") -> dict:
    conv = []
    for q, a in questions:
        conv += [{"from": "human", "value": f"<image>\n{q}"}, {"from": "gpt", "value": a}]
    return {"id": f"id{i}", "conversations": conv, "data_source": source, "video": video}


def m_notes(out: Path) -> dict:
    return read_manifest(out.parent)["report"]["notes"]


def test_stage_writes_pool_and_manifest_and_skips_when_fresh(cfg_factory) -> None:
    cfg = cfg_factory()
    cfg.pool.files = [
        PoolFileConf(path=str(FIX / "mixture.yaml"), media_root=str(FIX / "media")),
        PoolFileConf(path=str(FIX / "messages.jsonl"), media_root=str(FIX / "media"), source="own"),
    ]
    cfg.pool.check_media = True
    out = run(cfg)
    assert out.name == "pool.parquet" and out.parent.name == "pool"
    df = pd.read_parquet(out)
    # mixture: 8 candidates; messages: 3. The oe and mc files share the id 1006-8968804598
    # (as LLaVA-Video-178K does): both turn-0 rows are re-keyed, none is dropped.
    assert len(df) == 11 and df["uid"].is_unique
    assert m_notes(out)["uid_rekeyed"] == 2
    m = read_manifest(out.parent)
    assert m["stage"] == "pool" and m["counts"]["candidates"] == 11
    # the text-only record of llava_onevision.json is bucket text, not image
    assert m["counts"]["by_bucket"] == {"image": 2, "long_video": 1, "short_video": 7, "text": 1}
    assert m["counts"]["by_source"]["own"] == 3
    assert m["counts"]["dropped"] == {"sampling_records": 3}
    assert len(m["inputs"]) == 2 + 4  # two entries + the mixture's four files

    before = out.stat().st_mtime_ns
    time.sleep(0.01)
    assert run(cfg) == out and out.stat().st_mtime_ns == before  # fresh: skipped
    cfg.pool.force = True
    run(cfg)
    assert out.stat().st_mtime_ns != before


def test_stage_reruns_when_an_input_changes(cfg_factory, tmp_path: Path) -> None:
    pool_file = tmp_path / "p.json"
    shutil.copy(FIX / "llava_onevision.json", pool_file)
    cfg = cfg_factory()
    cfg.pool.files = [PoolFileConf(path=str(pool_file), media_root=str(FIX / "media"))]
    out = run(cfg)
    assert len(pd.read_parquet(out)) == 5
    records = json.loads(pool_file.read_text())[:2]
    pool_file.write_text(json.dumps(records))
    assert len(pd.read_parquet(run(cfg))) == 3


def test_dedup_by_text_per_video_and_cap(tmp_path: Path) -> None:
    recs = [
        video_rec(0, "a.mp4", [("What moves?", "The red ball."), ("Q2", "x")]),
        # Same question/answer up to case and punctuation, same clip: a duplicate.
        video_rec(1, "a.mp4", [("what moves", "the red ball")]),
        # Same text on another clip: kept.
        video_rec(2, "b.mp4", [("What moves?", "The red ball.")]),
        video_rec(3, "c.mp4", [(f"Q{t}?", f"A{t}") for t in range(11)]),
    ]
    p = tmp_path / "p.json"
    p.write_text(json.dumps(recs))
    df, report = build_pool({"files": [{"path": str(p)}], "max_turns_per_video": 8})
    assert report.dropped["duplicate_text"] == 1
    assert report.dropped["per_video_cap"] == 3
    c = df[df["video_id"].str.endswith("c.mp4")]
    assert c["turn"].tolist() == list(range(8))  # the first eight turns, in file order
    assert len(df) == 2 + 1 + 8
    # A mapping gets the schema's defaults, near-duplicate removal on among them: off here.
    no_dedup = {"dedup_text": False, "near_dup": {"enabled": False}}
    df2, report2 = build_pool({"files": [{"path": str(p)}], "max_turns_per_video": 0, **no_dedup})
    assert len(df2) == 2 + 1 + 1 + 11 and not report2.dropped


def test_duration_order_and_threshold_come_from_config(tmp_path: Path) -> None:
    write_video(tmp_path / "media" / "v.mp4", n_frames=16, fps=4.0)  # 4 s when probed
    rec = video_rec(0, "v.mp4", [("Q?", "A")], source="1_2_m_toy")
    rec["duration"] = 200.0
    p = tmp_path / "p.json"
    p.write_text(json.dumps([rec]))
    files = [{"path": str(p), "media_root": str(tmp_path / "media")}]

    def one(**buckets) -> pd.Series:
        return build_pool({"files": files, "buckets": buckets})[0].iloc[0]

    assert one()["duration_s"] == 200.0 and one()["bucket"] == "long_video"
    assert one(duration_order=["data_source"])["duration_s"] == 90.0
    probed = one(duration_order=["probe", "metadata"])
    assert probed["duration_s"] == pytest.approx(4.0) and probed["n_frames"] == 16
    assert one(duration_order=["data_source"], long_video_min_s=100.0)["bucket"] == "short_video"


def make_world(world: Path, missing: bool = False) -> None:
    """A minimal world in the documented layout (mixture list + LLaVA-Video + image json)."""
    media = world / "media"
    write_video(media / "videos" / "toy_0.mp4", n_frames=8)
    if not missing:
        write_video(media / "videos" / "toy_1.mp4", n_frames=40)
    write_image(media / "images" / "img_0.png")
    pool = world / "pool"
    folder = pool / "0_30_s_toy"
    folder.mkdir(parents=True)
    oe = [
        video_rec(0, "videos/toy_0.mp4", [("What colour appears first?", "red")], "0_30_s_toy"),
        video_rec(1, "videos/toy_1.mp4", [("What moves?", "blue")], "0_30_s_toy"),
    ]
    (folder / "0_30_s_toy_oe_qa_processed.json").write_text(json.dumps(oe))
    img = [
        {
            "id": "img_0",
            "image": "images/img_0.png",
            "conversations": [
                {"from": "human", "value": "<image>\nColour?"},
                {"from": "gpt", "value": "red"},
            ],
        }
    ]
    (pool / "image_shapes.json").write_text(json.dumps(img))
    (pool / "mixture.yaml").write_text(
        "- json_path: 0_30_s_toy/0_30_s_toy_oe_qa_processed.json\n  sampling_strategy: all\n"
        "- json_path: image_shapes.json\n  sampling_strategy: all\n  source: image_shapes\n"
    )


def test_world_pool_config_reads_the_world_layout(cfg_factory) -> None:
    cfg = cfg_factory()
    assert cfg.pool.check_media and cfg.pool.probe_media  # the world pool is checked
    make_world(Path(cfg.paths.world_dir))
    df = pd.read_parquet(run(cfg))
    assert sorted(df["source"]) == ["0_30_s_toy", "0_30_s_toy", "image_shapes"]
    assert all(Path(m[0]).is_file() for m in df["media"])


def test_world_pool_with_a_missing_video_fails_by_name(cfg_factory) -> None:
    cfg = cfg_factory()
    make_world(Path(cfg.paths.world_dir), missing=True)
    with pytest.raises(MediaError, match=r"toy_1\.mp4.*record 1.*file not found"):
        run(cfg)


def test_pool_config_files_are_typed(cfg_factory) -> None:
    from conftest import compose
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="sampling_strateg"):
        compose(["pool.files=[{path: a.json, sampling_strateg: all}]"])
    cfg = cfg_factory("pool=example_real")
    entries = OmegaConf.to_container(cfg.pool.files, resolve=True)
    assert all(e["path"].startswith("/data/") for e in entries)


@pytest.mark.slow
def test_real_world_pool_matches_world_truth(cfg_factory) -> None:
    """`gdo world world=small` then `gdo pool`: every candidate's uid, bucket, source and
    MCQ flag agree with the world's ground truth (~6 s of CPU, hence slow)."""
    from gdo.world.stage import run as world_run

    cfg = cfg_factory("world=small")
    world_run(cfg)
    pool = pd.read_parquet(run(cfg))
    truth = pd.read_parquet(Path(cfg.paths.world_dir) / "truth.parquet")
    assert pool["uid"].isin(truth["uid"]).all()
    m = pool.merge(truth, on="uid", suffixes=("", "_truth"))
    assert (m["bucket"] == m["bucket_truth"]).all()
    assert (m["source"] == m["source_truth"]).all()
    assert (m["is_mcq"] == m["is_mcq_truth"]).all()
    # The given letter is the true one except where the world mislabels on purpose.
    right = m[m["is_mcq"] & (m["waste"] != "wrong")]
    assert (right["answer_letter"] == right["true_letter"]).all()
    # Only exact duplicates are dropped by the text dedup.
    dropped = truth[~truth["uid"].isin(pool["uid"])]
    assert set(dropped["waste"]) <= {"duplicate"}
