"""read_candidates on one fixture per upstream format (tests/fixtures/pool)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gdo.pool import read_candidates
from gdo.pool.report import IngestReport
from gdo.pool.schema import COLUMNS, make_uid

FIX = Path(__file__).parent / "fixtures" / "pool"
MEDIA = FIX / "media"


def read(name: str, **kw) -> pd.DataFrame:
    kw.setdefault("media_root", MEDIA)
    return read_candidates(FIX / name, **kw)


def test_llava_onevision_json_list() -> None:
    df = read("llava_onevision.json")
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 5  # 2 + 1 + 1 + 1 QA pairs
    assert df["turn"].tolist() == [0, 1, 0, 0, 0]
    assert df["record"].tolist() == [0, 0, 1, 2, 3]
    # The text-only record gets its own bucket, so image quotas never count it.
    assert df["bucket"].tolist() == ["image", "image", "image", "text", "image"]
    assert df["media_kind"].tolist() == ["image", "image", "image", "none", "image"]
    assert df.loc[0, "question"] == "What are the colors of the bus in the image?"
    assert df.loc[1, "media"] == [str(MEDIA / "coco/train2017/000000033471.png")]
    assert len(df.loc[2, "media"]) == 2 and df.loc[2, "question"] == "Which image is greener?"
    assert df.loc[3, "media"] == [] and df.loc[3, "n_frames"] == 0
    assert (df["source"] == "llava_onevision").all()  # no data_source, no entry source: stem
    mcq = df.loc[4]
    assert mcq["is_mcq"] and mcq["options"] == ["red", "green", "blue"]
    assert mcq["answer_letter"] == "B"
    assert df.loc[0, "uid"] == make_uid("llava_onevision", "000000033471", 0)
    assert math.isnan(df.loc[0, "duration_s"])


def test_llava_onevision_jsonl_lines_and_video_probe() -> None:
    df = read("llava_onevision.jsonl")
    assert len(df) == 4
    assert df["record"].tolist() == [0, 2, 2, 3]  # line number - 1, blank line 2 skipped
    assert df.loc[1, "question"] == "Describe the image."  # trailing token stripped
    video = df.loc[3]
    assert video["media_kind"] == "video" and video["question"] == "What happens in the video?"
    # No data_source or metadata: the duration comes from probing (8 frames at 8 fps).
    assert video["duration_s"] == pytest.approx(1.0)
    assert video["n_frames"] == 8 and video["bucket"] == "short_video"
    assert video["video_id"] == video["media"][0]


def test_llava_video_178k_oe_mc_cap() -> None:
    oe = read("llava_video/0_30_s_nextqa/0_30_s_nextqa_oe_qa_processed.json")
    assert len(oe) == 4 and oe["turn"].tolist() == [0, 1, 2, 0]
    assert (oe["source"] == "0_30_s_nextqa").all()
    assert (oe["duration_s"] == 15.0).all() and (oe["bucket"] == "short_video").all()
    assert not oe["is_mcq"].any()

    mc = read("llava_video/0_30_s_nextqa/0_30_s_nextqa_mc_qa_processed.json")
    assert len(mc) == 2 and mc["is_mcq"].all()
    assert mc["answer_letter"].tolist() == ["B", "A"]
    assert mc.loc[0, "options"] == ["Sleeps.", "Crawls away.", "Eats the toy.", "Starts crying."]
    assert "Options:\nA. Sleeps." in mc.loc[0, "question"]  # option lines kept
    # The same clip id in oe and mc files: same source + id + turn gives the same uid.
    assert mc.loc[0, "uid"] == oe.loc[0, "uid"]

    cap = read("llava_video/1_2_m_youtube_v0_1/1_2_m_youtube_v0_1_cap_processed.json")
    assert len(cap) == 1 and cap.loc[0, "bucket"] == "long_video"
    assert cap.loc[0, "duration_s"] == 90.0


def test_chat_messages_rows() -> None:
    df = read("messages.jsonl", source="own")
    assert len(df) == 3
    frames = df[df["sample_id"] == "clip7_qa"]
    assert frames["media_kind"].tolist() == ["frames", "frames"]
    assert frames["video_id"].tolist() == ["v_clip7", "v_clip7"]
    assert frames["n_frames"].tolist() == [4, 4]
    assert frames["question"].tolist()[0] == "What changes over the clip?"
    assert (df["source"] == "own").all()
    img = df[df["sample_id"] == "img_chat_0"].iloc[0]
    assert img["media_kind"] == "image" and img["bucket"] == "image"
    assert img["is_mcq"] and img["answer_letter"] == "A"


def test_mixture_yaml_with_sampling() -> None:
    report = IngestReport()
    df = read("mixture.yaml", report=report)
    # oe all (4) + mc first:50% of 2 records (1) + cap (1) + onevision end:2 (records 2, 3)
    assert len(df) == 4 + 1 + 1 + 2
    assert report.dropped["sampling_records"] == 1 + 2
    ov = df[df["file"].str.endswith("llava_onevision.json")]
    assert ov["record"].tolist() == [2, 3] and (ov["source"] == "onevision_si").all()
    assert [f["records"] for f in report.files] == [2, 1, 1, 2]


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("llava_video/0_30_s_nextqa/0_30_s_nextqa_oe_qa_processed.json", None),
        ("llava_onevision.json", [0, 3]),  # arrow needs one type per column: str images only
        ("messages.jsonl", [0]),  # string contents only
    ],
)
def test_parquet_in_record_shape_matches_json(tmp_path: Path, name: str, rows) -> None:
    records = pd.read_json(FIX / name, lines=name.endswith(".jsonl"), dtype=False)
    if rows is not None:
        records = records.iloc[rows].reset_index(drop=True)
        name = str(tmp_path / "subset.json")
        records.to_json(name, orient="records")
    src = read(name)
    pq = tmp_path / (Path(name).stem + ".parquet")
    records.to_parquet(pq)
    df = read_candidates(pq, media_root=MEDIA)
    assert len(df) == len(src)
    assert df["question"].tolist() == src["question"].tolist()
    assert df["answer"].tolist() == src["answer"].tolist()
    assert [list(m) for m in df["media"]] == [list(m) for m in src["media"]]


def test_candidates_parquet_round_trip(tmp_path: Path) -> None:
    from gdo.pool.schema import write_candidates

    src = read("llava_video/0_30_s_nextqa/0_30_s_nextqa_mc_qa_processed.json")
    pq = tmp_path / "cands.parquet"
    write_candidates(pq, src)
    back = read_candidates(pq)
    assert back["uid"].tolist() == src["uid"].tolist()
    assert [list(o) for o in back["options"]] == [list(o) for o in src["options"]]
    assert back["is_mcq"].dtype == bool and back["turn"].dtype == np.int64


def test_media_without_root_resolves_against_the_pool_file(tmp_path: Path) -> None:
    shutil.copy(FIX / "llava_onevision.jsonl", tmp_path / "pool.jsonl")
    df = read_candidates(tmp_path / "pool.jsonl", media_root=None)
    assert df.loc[0, "media"] == [str(tmp_path / "coco/train2017/000000033471.png")]


@pytest.mark.parametrize(
    "name",
    [
        "llava_onevision.json",
        "llava_onevision.jsonl",
        "messages.jsonl",
        "llava_video/0_30_s_nextqa/0_30_s_nextqa_mc_qa_processed.json",
    ],
)
def test_fast_path_and_careful_path_agree(monkeypatch, name: str) -> None:
    """The hot path skips checks; forcing the careful path must give the same table."""
    import gdo.pool.records as records
    from gdo.pool.turns import _Unusual

    fast = read(name)

    def always_unusual(*args, **kwargs):
        raise _Unusual

    monkeypatch.setattr(records, "fast_pairs", always_unusual)
    careful = read(name, check_media=True)  # also takes the careful media branch
    pd.testing.assert_frame_equal(fast, careful)


def test_json_extension_holding_jsonl_and_a_single_pretty_record(tmp_path: Path) -> None:
    long_q = "q" * 6000  # first line longer than any peek buffer
    lines = [
        {
            "id": "a",
            "conversations": [{"from": "human", "value": long_q}, {"from": "gpt", "value": "x"}],
        },
        {
            "id": "b",
            "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "y"}],
        },
    ]
    p = tmp_path / "rows.json"
    p.write_text("\n" + "\n".join(json.dumps(r) for r in lines) + "\n")
    df = read_candidates(p)
    assert df["sample_id"].tolist() == ["a", "b"] and df["record"].tolist() == [1, 2]
    single = tmp_path / "one.json"
    single.write_text(json.dumps(lines[1], indent=2))
    assert read_candidates(single)["answer"].tolist() == ["y"]


def test_uid_digests_spell_the_same_uids_as_make_uid() -> None:
    # The pool readers take a record's uids from uid_digests, the world from make_uid:
    # both come from the one key in gdo.pool.schema (turns past 255 included).
    import hashlib

    from gdo.pool.schema import UID_BYTES, uid_digests

    digests = uid_digests("src", "id 7", 300)
    assert len(digests) == 300
    for turn in (0, 1, 9, 10, 255, 256, 299):
        assert digests[turn][:UID_BYTES].hex() == make_uid("src", "id 7", turn)
    key = b"src\x1fid 7\x1f0"
    assert make_uid("src", "id 7", 0) == hashlib.sha1(key).hexdigest()[:16]  # stable format
