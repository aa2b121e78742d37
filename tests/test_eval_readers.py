"""Benchmark readers on hand-made files in each real schema (tests/fixtures/benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gdo.benchmarks.options import answer_to_letter, split_option_lines
from gdo.evaluation import read_benchmark
from gdo.utils.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "benchmarks"


def mvbench():
    return read_benchmark(
        FIX / "mvbench" / "json",
        "mvbench",
        FIX / "mvbench" / "video",
        media_map={"moving_count": "clevrer", "episodic_reasoning": "tvqa/frames"},
        frame_subtasks=["episodic_reasoning"],
    )


def test_mvbench_folder_of_subtasks_letters_media_and_missing_video() -> None:
    df = mvbench()
    assert len(df) == 9
    assert sorted(df["subtask"].unique()) == [
        "action_sequence",
        "episodic_reasoning",
        "moving_count",
    ]
    # answer is a candidate's text -> its letter
    by_qid = df.set_index("qid")
    assert by_qid.loc["action_sequence/1", "answer_letter"] == "C"
    assert by_qid.loc["moving_count/0", "answer_letter"] == "B"
    assert by_qid.loc["moving_count/4", "options"] == ["2", "0", "1"]
    # media_map sends moving_count to the clevrer folder; the frames subtask lists frames
    assert by_qid.loc["moving_count/0", "media"][0].endswith("clevrer/video_10005.mp4")
    assert by_qid.loc["episodic_reasoning/0", "media_kind"] == "frames"
    assert len(by_qid.loc["episodic_reasoning/0", "media"]) == 2
    # ZZZZZ.mp4 is not on disk: flagged, not dropped
    assert df["video_missing"].tolist().count(True) == 1
    assert bool(by_qid.loc["action_sequence/2", "video_missing"])
    assert by_qid.loc["action_sequence/0", "start"] == pytest.approx(11.1)


def test_mvbench_single_file_takes_subtask_from_stem() -> None:
    df = read_benchmark(FIX / "mvbench/json/moving_count.json", "mvbench", FIX / "mvbench/video")
    assert set(df["subtask"]) == {"moving_count"}
    # without the media map the videos are looked for under video/moving_count/: missing
    assert df["video_missing"].all()


def test_videomme_parquet_lettered_options_and_video_extensions() -> None:
    df = read_benchmark(FIX / "videomme/videomme.parquet", "videomme", FIX / "videomme/data")
    by = df.set_index("qid")
    assert by.loc["001-1", "options"][:2] == ["Apples.", "Candles."]
    assert by.loc["301-2", "answer_letter"] == "D"
    # .MP4 and .mkv are found as well as .mp4
    assert by.loc["301-1", "media"][0].endswith("Kq3bWw1Tt5k.MP4")
    assert by.loc["601-1", "media"][0].endswith("p9Ju0xdBzGM.mkv")
    assert df["video_missing"].tolist() == [False] * 5 + [True]
    assert set(df["duration"]) == {"short", "medium", "long"}
    assert df.attrs["variants"] == {"lettered_options+answer_letter": 6}


def test_mlvu_test_options_in_question_with_e_and_f() -> None:
    df = read_benchmark(FIX / "mlvu/test.json", "mlvu", FIX / "mlvu/video")
    by = df.set_index("qid")
    assert by.loc["test_count_0", "answer_letter"] == "E"
    assert by.loc["test_sports_0", "answer_letter"] == "F"
    assert len(by.loc["test_sports_0", "options"]) == 6
    # the option lines are gone from the clean question
    assert by.loc["test_needle_0", "question"] == (
        "What does the hand coming out of the computer do?"
    )
    assert set(df["variant"]) == {"question_lines+answer_letter"}


def test_mlvu_dev_folder_candidates_and_text_answers() -> None:
    df = read_benchmark(FIX / "mlvu/dev", "mlvu", FIX / "mlvu/video")
    assert df["answer_letter"].tolist() == ["B", "C", "B"]
    assert df["task_type"].tolist() == ["plotQA", "plotQA", "count"]
    assert set(df["variant"]) == {"candidates_column+answer_text"}


def test_lvbench_both_option_variants() -> None:
    df = read_benchmark(FIX / "lvbench/lvbench.jsonl", "lvbench", FIX / "lvbench/video")
    assert df["answer_letter"].tolist() == ["A", "C", "B", "D"]
    assert df["question_type"].iloc[1] == "reasoning|event understanding"
    assert df["video_missing"].tolist() == [False, False, False, True]
    df2 = read_benchmark(FIX / "lvbench/lvbench_options.jsonl", "lvbench", FIX / "lvbench/video")
    assert df2["options"].iloc[0] == ["A microphone", "A cup", "A book", "Nothing"]
    assert df2["answer_letter"].tolist() == ["B", "C"]
    assert df2.attrs["variants"] == {"options_column+answer_letter": 2}


def test_wrong_schema_names_missing_field_and_kind() -> None:
    with pytest.raises(InputError) as err:
        read_benchmark(FIX / "bad/mvbench_no_candidates.json", "mvbench")
    msg = str(err.value)
    assert "record 1" in msg and "'candidates'" in msg and "mvbench" in msg
    # an MVBench file read as Video-MME
    with pytest.raises(InputError) as err:
        read_benchmark(FIX / "mvbench/json/moving_count.json", "videomme")
    assert "question_id" in str(err.value) and "videomme" in str(err.value)


def test_answer_letter_outside_the_options_names_the_row() -> None:
    with pytest.raises(InputError) as err:
        read_benchmark(FIX / "bad/lvbench_letter_outside.jsonl", "lvbench")
    msg = str(err.value)
    assert "record 1" in msg and "'answer'" in msg and "got E" in msg


def test_answer_text_not_among_candidates_fails(tmp_path: Path) -> None:
    bad = [{"video": "a.mp4", "question": "q?", "candidates": ["x", "y"], "answer": "z"}]
    (tmp_path / "t.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match="record 0.*answer"):
        read_benchmark(tmp_path / "t.json", "mvbench")


def test_option_lines_need_consecutive_letters() -> None:
    q, opts = split_option_lines("A. b. c. is a sentence.\nWhich?\n(A) x\n(B) y")
    assert opts == ["x", "y"] and q.startswith("A. b. c.")
    q, opts = split_option_lines("Which?\nA. x\nC. y")
    assert opts == [] and q == "Which?\nA. x\nC. y"
    assert answer_to_letter("B. y", ["x", "y"], file="f", where="r", kind="k") == ("B", "letter")
