"""Answer extraction and each benchmark's aggregation rule on the hand-made fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdo.evaluation import (
    EXTRACT_VERSION,
    PROMPT_VERSION,
    RULES,
    aggregate,
    build_prompt,
    extract_letter,
    overall_accuracy,
    read_benchmark,
)

FIX = Path(__file__).parent / "fixtures" / "benchmarks"
OPTS = ["cat", "dog", "bird", "fish"]


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("(B)", "B"),
        ("B.", "B"),
        ("C", "C"),
        ("D) fish", "D"),
        ("The answer is C", "C"),
        ("The best answer is (D) fish.", "D"),
        ("Answer: B", "B"),
        ("Option B", "B"),
        ("bird", "C"),
        ("I think it is a dog.", "B"),
        ("A dog.", "B"),  # "A" is an article here, the option text decides
        ("A", "A"),
        ("It is B, the dog", "B"),
        ("", None),
        ("   ", None),
        (None, None),
        ("I don't know", None),
        ("E", None),  # outside the four options
        ("(E)", None),
    ],
)
def test_extract_letter(text, letter) -> None:
    assert extract_letter(text, OPTS) == letter


def test_extract_letter_takes_e_and_f_when_there_are_six_options() -> None:
    six = ["1", "2", "3", "4", "5", "6"]
    assert extract_letter("E", six) == "E"
    assert extract_letter("(F) 6", six) == "F"
    # the first letter given wins
    assert extract_letter("(C) or maybe (A)", six) == "C"


def test_prompts_follow_the_harness_layout() -> None:
    p = build_prompt("What moves?", ["a car", "a dog"], "mvbench")
    assert p == "Question: What moves?\nOption:\n(A) a car\n(B) a dog\nOnly give the best option."
    assert "\nA. a car\nB. a dog\n" in build_prompt("What moves?", ["a car", "a dog"], "videomme")
    assert "\n(A) a car\n(B) a dog\n" in build_prompt("What?", ["a car", "a dog"], "lvbench")


def test_mvbench_mean_over_subtasks_answered_only() -> None:
    df = read_benchmark(
        FIX / "mvbench/json",
        "mvbench",
        FIX / "mvbench/video",
        media_map={"moving_count": "clevrer", "episodic_reasoning": "tvqa/frames"},
    )
    assert df["qid"].tolist()[:4] == [
        "action_sequence/0",
        "action_sequence/1",
        "action_sequence/2",
        "episodic_reasoning/0",
    ]
    # action_sequence: right, empty, (missing video -> empty); episodic: right;
    # moving_count: right, right, unparseable, wrong, right
    preds = ["(A)", "", "", "B", "B", "A", "no idea", "A", "B"]
    res = aggregate(df, preds, "mvbench")
    assert res["groups"]["subtask"]["action_sequence"] == {
        "accuracy": 100.0,
        "n": 3,
        "n_answered": 1,
    }
    assert res["groups"]["subtask"]["moving_count"]["accuracy"] == pytest.approx(75.0)
    assert res["overall"] == pytest.approx((100 + 100 + 75) / 3)
    assert res["micro"] == pytest.approx(100 * 5 / 9)
    assert (res["n"], res["n_answered"], res["n_unparsed"]) == (9, 6, 3)
    assert res["n_video_missing"] == 1
    assert res["prompt_version"] == PROMPT_VERSION and res["extract_version"] == EXTRACT_VERSION


def test_videomme_micro_unparseable_wrong_and_breakdowns() -> None:
    df = read_benchmark(FIX / "videomme/videomme.parquet", "videomme", FIX / "videomme/data")
    preds = ["C", "(B) It is a documentary.", "Shoots a free throw.", "E", "The answer is B.", ""]
    res = aggregate(df, preds, "videomme")
    assert res["overall"] == pytest.approx(100 * 4 / 6)
    g = res["groups"]
    assert g["duration"]["short"]["accuracy"] == 100.0
    assert g["duration"]["medium"]["accuracy"] == 50.0
    assert g["duration"]["long"] == {"accuracy": 50.0, "n": 2, "n_answered": 1}
    assert g["task_type"]["Counting Problem"]["accuracy"] == 50.0
    assert set(g) == {"duration", "domain", "sub_category", "task_type"}


def test_mlvu_macro_over_task_types_differs_from_micro() -> None:
    df = read_benchmark(FIX / "mlvu/test.json", "mlvu", FIX / "mlvu/video")
    preds = ["B", "A", "D", "A", "(E)", "the players celebrate"]
    res = aggregate(df, preds, "mlvu")
    assert res["micro"] == pytest.approx(100 * 4 / 6)
    assert res["overall"] == pytest.approx((75 + 100 + 0) / 3)
    assert res["overall"] != pytest.approx(res["micro"])
    # the sportsQA answer is unparseable and counts wrong (not left out as in MVBench)
    assert res["groups"]["task_type"]["sportsQA"] == {"accuracy": 0.0, "n": 1, "n_answered": 0}


def test_mlvu_letters_e_f_are_scored_right() -> None:
    df = read_benchmark(FIX / "mlvu/test.json", "mlvu", FIX / "mlvu/video")
    res = aggregate(df, ["B", "A", "D", "C", "E", "F"], "mlvu")
    assert res["overall"] == 100.0


def test_lvbench_mean_in_percent_and_multi_type_breakdown() -> None:
    df = read_benchmark(FIX / "lvbench/lvbench.jsonl", "lvbench", FIX / "lvbench/video")
    res = aggregate(df, ["A", "(C)", "A", ""], "lvbench")
    assert res["overall"] == pytest.approx(50.0)
    qt = res["groups"]["question_type"]
    # question 2 has two types and counts in both
    assert qt["reasoning"]["n"] == 1 and qt["event understanding"]["accuracy"] == 100.0
    assert qt["temporal grounding"]["accuracy"] == 0.0


def test_prediction_count_must_match() -> None:
    df = read_benchmark(FIX / "lvbench/lvbench.jsonl", "lvbench", FIX / "lvbench/video")
    with pytest.raises(ValueError, match="3 predictions for 4 questions"):
        aggregate(df, ["A", "B", "C"], "lvbench")


def test_overall_accuracy_drops_units_without_answers() -> None:
    correct = np.array([1, 0, 0, 0], bool)
    answered = np.array([1, 1, 0, 0], bool)
    units = np.array(["a", "a", "b", "b"])
    assert overall_accuracy(correct, answered, units, RULES["mvbench"]) == 50.0
    assert overall_accuracy(correct, answered, units, RULES["mlvu"]) == 25.0
    assert overall_accuracy(correct, answered, None, RULES["lvbench"]) == 25.0


_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


@settings(max_examples=60, deadline=None)
@given(options=st.lists(_WORDS, min_size=2, max_size=6, unique=True), data=st.data())
def test_extract_letter_properties(options, data) -> None:
    k = data.draw(st.integers(0, len(options) - 1))
    letter = "ABCDEF"[k]
    for form in (f"({letter})", f"{letter}.", letter, f"The answer is {letter}"):
        assert extract_letter(form, options) == letter
    assert extract_letter(options[k], options) == letter
    # a letter past the last option never comes back
    assert extract_letter("(" + "ABCDEFG"[len(options)] + ")", options) is None
