"""Text rules of ingestion: media tokens, options, answer letters, durations, sampling."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdo.pool.duration import bucket_of, duration_from_data_source
from gdo.pool.sampling import parse_strategy, sample_indices
from gdo.pool.text import answer_letter, normalize_text, parse_options, strip_media_tokens
from gdo.utils.errors import InputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<image>\nWhat is it?", "What is it?"),
        ("<video>\nWhat happens?", "What happens?"),
        ("Describe it.\n<image>", "Describe it."),
        ("<image><image><image>Which frame?", "Which frame?"),
        ("Compare <image> and <image>.", "Compare and."),
        ("  plain  ", "plain"),
        ("a < b?", "a < b?"),
    ],
)
def test_strip_media_tokens(text: str, expected: str) -> None:
    assert strip_media_tokens(text) == expected


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("Q?\nOptions:\nA. red\nB. blue\nAnswer with the letter.", ["red", "blue"]),
        ("Q?\n(A) red\n(B) blue\n(C) green", ["red", "blue", "green"]),
        ("Q?\nA) red\nB) blue", ["red", "blue"]),
        ("Q?\nA. only one", []),
        ("Q?\nA. red\nC. skipped B", []),
        ("A. sentence that starts like an option.\nAnd goes on.", []),
        ("Q? (A) red (B) blue", []),  # one line: not an option list
        ("Q?\nA. old\nB. old\nOptions:\nA. new\nB. new\nC. new", ["new", "new", "new"]),
        ("Q?\nA. a\nB. b\nC. c\nD. d\nE. e\nF. f", list("abcdef")),  # MLVU test: E, F
    ],
)
def test_parse_options(question: str, options: list[str]) -> None:
    assert parse_options(question) == options


@given(
    st.lists(st.from_regex(r"[a-z][a-z ]{0,20}[a-z]", fullmatch=True), min_size=2, max_size=6),
    st.sampled_from(["{L}. {t}", "({L}) {t}", "{L}) {t}"]),
)
def test_parse_options_round_trips_generated_blocks(texts: list[str], style: str) -> None:
    lines = [style.format(L=chr(65 + i), t=t) for i, t in enumerate(texts)]
    assert parse_options("Which one?\n" + "\n".join(lines)) == texts


@pytest.mark.parametrize(
    ("answer", "letter"),
    [
        ("B", "B"),
        ("B.", "B"),
        ("(B)", "B"),
        ("B) blue", "B"),
        ("B. blue", "B"),
        ("blue", "B"),
        ("Blue.", "B"),
        ("B blue", "B"),
        ("A man", ""),
        ("D.", ""),
        ("purple", ""),
    ],
)
def test_answer_letter(answer: str, letter: str) -> None:
    assert answer_letter(answer, ["red", "blue", "green"]) == letter


def test_normalize_text_folds_case_punctuation_and_keeps_non_ascii() -> None:
    assert normalize_text("What  moves?!") == normalize_text("what moves") == "what moves"
    assert normalize_text("这是什么？") != normalize_text("这是谁？")


@pytest.mark.parametrize(
    ("data_source", "seconds"),
    [
        ("0_30_s_nextqa", 15.0),
        ("30_60_s_youtube_v0_1", 45.0),
        ("1_2_m_activitynet", 90.0),
        ("2_3_m_academic_v0_1", 150.0),
        ("llava_hound", math.nan),
        ("", math.nan),
    ],
)
def test_duration_from_data_source(data_source: str, seconds: float) -> None:
    got = duration_from_data_source(data_source)
    assert (math.isnan(got) and math.isnan(seconds)) or got == seconds


def test_bucket_threshold() -> None:
    assert bucket_of("video", 60.0, 60.0) == "short_video"
    assert bucket_of("video", 60.5, 60.0) == "long_video"
    assert bucket_of("frames", math.nan, 60.0) == "short_video"
    assert bucket_of("image", math.nan, 60.0) == "image"
    assert bucket_of("none", math.nan, 60.0) == "text"  # text-only: not an image


def test_sampling_strategies_follow_llava_rules() -> None:
    assert sample_indices(10, "all", 0) is None
    assert sample_indices(10, "first:3", 0).tolist() == [0, 1, 2]
    assert sample_indices(10, "first:25%", 0).tolist() == [0, 1, 2]  # ceil(2.5)
    assert sample_indices(10, "end:2", 0).tolist() == [8, 9]
    assert sample_indices(3, "end:10", 0).tolist() == [0, 1, 2]
    a = sample_indices(1000, "random:100", 0, key="f.json")
    assert len(set(a.tolist())) == 100 and a.tolist() == sorted(a.tolist())
    assert a.tolist() == sample_indices(1000, "random:100", 0, key="f.json").tolist()
    assert a.tolist() != sample_indices(1000, "random:100", 1, key="f.json").tolist()
    assert a.tolist() != sample_indices(1000, "random:100", 0, key="g.json").tolist()
    assert parse_strategy("random:50%") == ("random", 50.0, True)
    for bad in ("some", "first:", "first:x", "all:3", "end:-1", "first:150%"):
        with pytest.raises(InputError, match="sampling_strategy"):
            parse_strategy(bad)
