"""Bad pool input: each case raises a message naming file, record/line, field and expectation,
or (on_error: skip) is counted by reason instead."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gdo.media import MediaError
from gdo.media.testing import write_video
from gdo.pool import build_pool, read_candidates
from gdo.pool.report import IngestReport
from gdo.utils.errors import InputError


def rec(i: int, video: str | None = "v.mp4", n_pairs: int = 1, **extra) -> dict:
    conv = []
    for t in range(n_pairs):
        conv += [{"from": "human", "value": f"<image>\nQ{i}.{t}?"}, {"from": "gpt", "value": "A"}]
    out = {"id": f"r{i}", "conversations": conv, "data_source": "0_30_s_test", **extra}
    if video:
        out["video"] = video
    return out


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_malformed_jsonl_line_raises_with_line_number(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0), '{"id": "r1", "conversations": [', rec(2)])
    with pytest.raises(
        InputError,
        match=r"p\.jsonl, line 2 \(LLaVA-Video-178K, JSONL\).*"
        r"malformed JSON.*expected one JSON object per line",
    ):
        read_candidates(p)
    report = IngestReport(on_error="skip")
    df = read_candidates(p, on_error="skip", report=report)
    assert df["sample_id"].tolist() == ["r0", "r2"]
    assert report.dropped["malformed_record"] == 1
    assert "line 2" in report.messages[0]


def test_malformed_json_list_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    p.write_text('[\n{"id": "a", "conversations": []},\n{"id": oops}\n]')
    with pytest.raises(InputError, match=r"p\.json, line 3 column 8.*malformed JSON"):
        read_candidates(p)
    report = IngestReport(on_error="skip")
    assert len(read_candidates(p, on_error="skip", report=report)) == 0
    # A whole file is counted as a file, not as one dropped row.
    assert report.skipped_files["malformed_file"] == 1 and not report.dropped
    assert report.files[0]["skipped"] == "malformed_file"


def test_record_without_conversations(tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    p.write_text(json.dumps([rec(0), {"id": "x", "video": "v.mp4", "question": "Q?"}]))
    with pytest.raises(InputError) as exc:
        read_candidates(p)
    msg = str(exc.value)
    assert "p.json, record 1" in msg and "field 'conversations'" in msg
    assert "record without conversations" in msg and "keys id, question, video" in msg


@pytest.mark.parametrize(
    ("turns", "field"),
    [
        ([("human", "Q1"), ("gpt", "A1"), ("human", "Q2")], "conversations[2]"),
        ([("human", "Q1"), ("human", "Q2"), ("gpt", "A2")], "conversations[0]"),
        ([("human", "Q1"), ("gpt", "  ")], "conversations[1].value"),
    ],
)
def test_conversation_without_an_answer_turn(tmp_path: Path, turns, field: str) -> None:
    conv = [{"from": f, "value": v} for f, v in turns]
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0), {"id": "bad", "conversations": conv}])
    with pytest.raises(InputError, match=r"line 2 .*field '" + re.escape(field) + "'"):
        read_candidates(p)
    report = IngestReport(on_error="skip")
    assert len(read_candidates(p, on_error="skip", report=report)) == 1
    assert report.dropped["malformed_record"] == 1


def test_wrong_role_and_non_string_value(tmp_path: Path) -> None:
    p = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "conversations": [{"from": "robot", "value": "x"}]},
            {"id": "b", "conversations": [{"from": "human", "value": 3}]},
        ],
    )
    report = IngestReport(on_error="skip")
    read_candidates(p, on_error="skip", report=report)
    assert "field 'conversations[0].from': expected human/user" in report.messages[0]
    assert "field 'conversations[0].value': expected a string, got 3" in report.messages[1]


def chat(i: int, parts: list) -> dict:
    """A chat ``messages`` row whose question is a list of content parts."""
    return {
        "id": f"m{i}",
        "messages": [
            {"role": "user", "content": parts},
            {"role": "assistant", "content": f"A{i}"},
        ],
    }


def test_chat_content_parts_are_joined(tmp_path: Path) -> None:
    parts = [
        {"type": "image"},
        {"type": "text", "text": "Q0?"},
        {"type": "text"},  # no text: counts as empty
        {"type": "text", "text": "more"},
    ]
    p = write_jsonl(tmp_path / "p.jsonl", [chat(0, parts)])
    df = read_candidates(p)
    assert df["question"].tolist() == ["Q0?\n\nmore"]
    assert df["answer"].tolist() == ["A0"]


@pytest.mark.parametrize(("text", "got"), [(5, "5"), (None, "None"), (["Q"], "['Q']")])
def test_chat_content_part_text_not_a_string(tmp_path: Path, text, got: str) -> None:
    parts = [{"type": "image"}, {"type": "text", "text": text}]
    p = write_jsonl(
        tmp_path / "p.jsonl", [chat(0, [{"type": "text", "text": "Q?"}]), chat(1, parts)]
    )
    field = "messages[0].content[1].text"
    with pytest.raises(InputError) as exc:
        read_candidates(p)
    assert str(exc.value) == (
        f"{p.resolve()}, line 2 (chat messages, JSONL), field '{field}': "
        f"expected a string, got {got}"
    )
    assert (exc.value.where, exc.value.field) == ("line 2 (chat messages, JSONL)", field)
    report = IngestReport(on_error="skip")
    df = read_candidates(p, on_error="skip", report=report)
    assert df["sample_id"].tolist() == ["m0"]
    assert sum(report.dropped.values()) == 1
    assert f"field '{field}': expected a string, got {got}" in report.messages[0]


def test_missing_media_checked_only_when_asked(tmp_path: Path) -> None:
    media = tmp_path / "media"
    write_video(media / "v.mp4", n_frames=4)
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0), rec(1, video="gone.mp4", n_pairs=3)])
    assert len(read_candidates(p, media_root=media)) == 4  # not checked by default
    with pytest.raises(
        MediaError,
        match=r"gone\.mp4, .*p\.jsonl, line 2.*field 'video'.*"
        r"file not found",
    ):
        read_candidates(p, media_root=media, check_media=True)
    report = IngestReport(on_error="skip")
    df = read_candidates(p, media_root=media, check_media=True, on_error="skip", report=report)
    assert df["sample_id"].tolist() == ["r0"]
    assert report.dropped["missing_media"] == 3  # the candidates it held


def test_zero_length_and_corrupt_videos(tmp_path: Path) -> None:
    media = tmp_path / "media"
    write_video(media / "v.mp4", n_frames=4)
    (media / "empty.mp4").write_bytes(b"")
    (media / "junk.mp4").write_bytes(b"\x00\x01not a video" * 50)
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0), rec(1, "empty.mp4"), rec(2, "junk.mp4")])
    with pytest.raises(MediaError, match=r"empty\.mp4.*zero-length"):
        read_candidates(p, media_root=media, check_media=True)
    # Stat alone cannot see a corrupt file; opening it can.
    report = IngestReport(on_error="skip")
    df = read_candidates(p, media_root=media, probe_media=True, on_error="skip", report=report)
    assert df["sample_id"].tolist() == ["r0"]
    assert report.dropped["unreadable_media"] == 2
    assert any("junk.mp4" in m and "unreadable video" in m for m in report.messages)


def test_non_utf8_text(tmp_path: Path) -> None:
    good = json.dumps(rec(0)).encode()
    bad = json.dumps(rec(1)).encode().replace(b"Q1.0", b"Q\xff\xfe")
    p = tmp_path / "p.jsonl"
    p.write_bytes(good + b"\n" + bad + b"\n")
    with pytest.raises(InputError, match=r"line 2 .*not valid UTF-8.*expected UTF-8 text"):
        read_candidates(p)
    report = IngestReport(on_error="skip")
    assert len(read_candidates(p, on_error="skip", report=report)) == 1
    assert report.dropped["malformed_record"] == 1

    j = tmp_path / "p.json"
    j.write_bytes(b"[\n" + good + b",\n" + bad + b"\n]")
    with pytest.raises(InputError, match=r"p\.json, line 3 .*not valid UTF-8 \(byte 0xff"):
        read_candidates(j)
    report = IngestReport(on_error="skip")
    assert len(read_candidates(j, on_error="skip", report=report)) == 2  # kept, replaced
    assert report.dropped["non_utf8_file"] == 1


def test_duplicate_ids_are_counted(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0, n_pairs=2), rec(0, n_pairs=2), rec(1)])
    # Near-duplicate removal off (on by the schema's default): only the uid rule counts here.
    df, report = build_pool({"files": [{"path": str(p)}], "near_dup": {"enabled": False}})
    assert len(df) == 3
    assert report.dropped["duplicate_uid"] == 2


def test_media_path_escaping_the_root_is_refused(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0), rec(1, "../../etc/passwd"), rec(2, "/etc/x")])
    with pytest.raises(
        MediaError,
        match=r"\.\./\.\./etc/passwd, .*line 2.*field 'video'.*"
        r"escapes the media root",
    ):
        read_candidates(p, media_root=media)
    report = IngestReport(on_error="skip")
    df = read_candidates(p, media_root=media, on_error="skip", report=report)
    assert df["sample_id"].tolist() == ["r0"]
    assert report.dropped["media_outside_root"] == 2
    assert any("absolute path refused" in m for m in report.messages)


def test_bad_format_and_strategy_name_the_value(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0)])
    with pytest.raises(InputError, match="field 'format'.*got xml"):
        read_candidates(p, format="xml")
    with pytest.raises(InputError, match="sampling_strategy.*got half"):
        read_candidates(p, sampling_strategy="half")
    with pytest.raises(InputError, match="file not found"):
        read_candidates(tmp_path / "nope.jsonl")


def test_forced_format_mismatch_says_which_shape(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "p.jsonl", [rec(0)])
    with pytest.raises(InputError, match=r"\(chat messages, JSONL\).*'messages' \(chat\)"):
        read_candidates(p, format="messages")
