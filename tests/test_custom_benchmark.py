"""The ``custom`` benchmark kind: every bad input of issue 8 through the validator
(``gdo benchmark check``) and through ``read_benchmark(path, "custom")``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from gdo.benchmarks.check import main as check_main
from gdo.evaluation import read_benchmark
from gdo.utils.errors import InputError

REPO = Path(__file__).resolve().parent.parent


def _media(root: Path) -> None:
    (root / "media" / "clip").mkdir(parents=True, exist_ok=True)
    for name in ("a.png", "b.mp4", "clip/f0.png", "clip/f1.png"):
        (root / "media" / name).write_bytes(b"x")  # existence is what the reader checks


def _row(qid: str, **kw) -> dict:
    base = {
        "id": qid,
        "media": "media/a.png",
        "question": "what colour is the square?",
        "options": ["red", "green", "blue"],
        "answer": "A",
        "group": "colour",
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def _jsonl(path: Path, rows: list[dict]) -> Path:
    _media(path.parent)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _check(path: Path, capsys) -> tuple[int, str]:
    rc = check_main([str(path)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _read_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_benchmark(path, "custom")
    return info.value


# Each bad input: (rows, the line the problem is on, the field, a phrase of the message).
BAD = {
    "missing_answer": ([_row("q1"), _row("q2", answer=None)], 2, "answer", "missing answer"),
    "empty_answer": ([_row("q1", answer="  "), _row("q2")], 1, "answer", "missing answer"),
    "letter_outside": ([_row("q1"), _row("q2", answer="D")], 2, "answer", "neither a letter"),
    "text_not_option": ([_row("q1", answer="purple")], 1, "answer", "neither a letter"),
    "duplicate_id": ([_row("q1"), _row("q2"), _row("q1")], 3, "id", "duplicate id 'q1'"),
    "escapes_root": ([_row("q1", media="../outside.png")], 1, "media", "escapes the media root"),
    "absolute_escape": ([_row("q1", media="/etc/passwd.png")], 1, "media", "escapes"),
    "one_option": ([_row("q1", options=["red"])], 1, "options", "at least two options"),
    "no_options": ([_row("q1", options=None)], 1, "options", "no options"),
    "missing_id": ([_row("q1"), _row(None)], 2, "id", "missing id"),
    "missing_media": ([_row("q1", media=None)], 1, "media", "missing media"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_named_by_line_in_validator_and_reader(case, tmp_path, capsys) -> None:
    rows, line, field, phrase = BAD[case]
    path = _jsonl(tmp_path / "bench.jsonl", rows)
    rc, out = _check(path, capsys)
    assert rc == 1
    assert f"line {line}, field '{field}'" in out and phrase in out
    err = _read_error(path)
    assert err.where == f"line {line}" and err.field == field and phrase in str(err)
    assert str(path) in str(err)


def test_different_option_counts_check_each_answer_against_its_own_row(tmp_path, capsys) -> None:
    four = ["red", "green", "blue", "cyan"]
    rows = [
        _row("q1", options=four, answer="D"),  # D exists in this row
        _row("q2", answer="C"),
        _row("q3", answer="D"),  # three options: D does not
    ]
    path = _jsonl(tmp_path / "bench.jsonl", rows)
    rc, out = _check(path, capsys)
    assert rc == 1 and "line 3, field 'answer'" in out and "3 options (A, B, C)" in out
    assert "line 1," not in out and "line 2," not in out
    assert _read_error(path).where == "line 3"
    rows[2]["answer"] = "blue"
    df = read_benchmark(_jsonl(tmp_path / "bench.jsonl", rows), "custom")
    assert [len(o) for o in df["options"]] == [4, 3, 3]
    assert list(df["answer_letter"]) == ["D", "C", "C"]


def test_missing_media_file_is_reported_and_flagged_not_dropped(tmp_path, capsys, caplog) -> None:
    rows = [_row("q1"), _row("q2", media="media/gone.mp4")]
    path = _jsonl(tmp_path / "bench.jsonl", rows)
    rc, out = _check(path, capsys)
    assert rc == 1 and "line 2, field 'media'" in out and "does not exist" in out
    with caplog.at_level(logging.WARNING, logger="gdo.benchmarks.custom"):
        df = read_benchmark(path, "custom")
    assert list(df["qid"]) == ["q1", "q2"] and list(df["video_missing"]) == [False, True]
    assert "line 2" in caplog.text and "gone.mp4" in caplog.text


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_empty_file(fmt, tmp_path, capsys) -> None:
    path = tmp_path / f"bench.{fmt}"
    if fmt == "parquet":
        pd.DataFrame({"id": [], "question": [], "answer": []}).to_parquet(path)
    else:
        path.write_text("" if fmt == "jsonl" else "id,media,question,A,B,answer\n")
    rc, out = _check(path, capsys)
    assert rc == 1 and "empty file" in out
    assert "empty file" in str(_read_error(path))


def test_every_problem_is_listed_not_only_the_first(tmp_path, capsys) -> None:
    rows = [_row("q1", answer=None), _row("q2"), _row("q3", answer="Z"), _row("q2")]
    path = _jsonl(tmp_path / "bench.jsonl", rows)
    path.write_text(path.read_text() + "{not json\n")
    rc, out = _check(path, capsys)
    assert rc == 1
    for line in ("line 1, field 'answer'", "line 3, field 'answer'", "line 4, field 'id'"):
        assert line in out
    assert "line 5: not valid JSON" in out and "4 problem(s)" in out
    assert "+3 more problems" in str(_read_error(path))


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    _media(path.parent)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_option_columns_and_bad_rows_by_file_line(tmp_path, capsys) -> None:
    header = ["id", "media", "question", "A", "B", "C", "D", "answer", "group"]
    rows = [
        ["q1", "media/b.mp4", "what colour appears first?", "red", "blue", "", "", "B", "order"],
        ["q2", "media/a.png", "what colour?", "red", "blue", "green", "cyan", "cyan", "colour"],
        ["q3", "media/a.png", "what colour?", "red", "blue", "", "", "C", "colour"],
        ["q4", "media/a.png", "what colour?", "red", "", "green", "", "A", "colour"],
    ]
    path = _csv(tmp_path / "bench.csv", header, rows)
    rc, out = _check(path, capsys)
    # header = line 1: q3 is line 4 (answer C, two options), q4 line 5 (B empty: a gap)
    assert rc == 1 and "line 4, field 'answer'" in out and "line 5, field 'options'" in out
    assert "line 2" not in out and "line 3," not in out
    path = _csv(tmp_path / "bench.csv", header, rows[:2])
    df = read_benchmark(path, "custom")
    assert list(df["answer_letter"]) == ["B", "D"]
    assert list(df["media_kind"]) == ["video", "image"] and list(df["group"]) == ["order", "colour"]


def test_parquet_rows_and_formats_agree(tmp_path) -> None:
    rows = [
        _row("q1", media=["media/a.png"], answer="green"),  # parquet: one list type
        _row("q2", media=["media/clip/f0.png", "media/clip/f1.png"], answer="C"),
    ]
    a = read_benchmark(_jsonl(tmp_path / "bench.jsonl", rows), "custom")
    pd.DataFrame(rows).to_parquet(tmp_path / "bench.parquet")
    b = read_benchmark(tmp_path / "bench.parquet", "custom")
    cols = ["qid", "question", "answer_letter", "media_kind", "group"]
    assert a[cols].equals(b[cols]) and list(a["answer_letter"]) == ["B", "C"]
    assert a["media_kind"].tolist() == ["image", "frames"] and len(b["media"][1]) == 2
    bad = [_row("q1"), _row("q2", answer="E")]
    pd.DataFrame(bad).to_parquet(tmp_path / "bad.parquet")
    err = _read_error(tmp_path / "bad.parquet")
    assert err.where == "row 2" and err.field == "answer"


def test_shipped_example_validates_and_reads() -> None:
    example = REPO / "docs" / "examples" / "custom_benchmark.jsonl"
    assert check_main([str(example)]) == 0
    df = read_benchmark(example, "custom")
    assert sorted(df["media_kind"]) == ["frames", "image", "video"]
    assert not df["video_missing"].any()


def test_world_custom_set_is_valid_balanced_and_one_skill(cfg_factory) -> None:
    from gdo.utils.io import atomic_write_json
    from gdo.utils.stage import world_dir
    from gdo.world.custom import run as custom_run

    cfg = cfg_factory("logger=none", "world.custom_set.size=12", "world.custom_set.name=order")
    atomic_write_json(world_dir(cfg) / "manifest.json", {"key": "stub"})  # a world exists
    path = custom_run(cfg)
    assert path.parent.name == "order" and check_main([str(path)]) == 0
    df = read_benchmark(path, "custom")
    truth = pd.read_parquet(path.parent / "truth.parquet")
    assert len(df) == 12 and set(truth["qtype"]) == {"appearance_order"}
    assert list(df["answer_letter"]) == list(truth["answer_letter"])
    # answer letters balanced: the correct position cycles through the four letters
    assert df["answer_letter"].value_counts().to_dict() == {"A": 3, "B": 3, "C": 3, "D": 3}
    assert all(Path(m[0]).is_relative_to(path.parent / "media") for m in df["media"])
    mtime = path.stat().st_mtime_ns
    assert custom_run(cfg) == path and path.stat().st_mtime_ns == mtime  # fresh: skipped


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("world.custom_set.qtype=colours", r"world\.custom_set\.qtype: expected one of"),
        ("world.custom_set.size=0", r"world\.custom_set\.size: expected >= 1"),
        ("world.custom_set.n_options=7", r"world\.custom_set\.n_options: expected 2 to 6"),
        ("world.custom_set.frames=[16,8]", r"world\.custom_set\.frames: expected \[min, max\]"),
        ("world.custom_set.seconds=[5.0]", r"world\.custom_set\.seconds: expected \[min, max\]"),
    ],
)
def test_a_bad_custom_set_value_names_its_field(cfg_factory, override, message) -> None:
    from gdo.utils.errors import ConfigError
    from gdo.world.custom import custom_set_conf

    with pytest.raises(ConfigError, match=message):
        custom_set_conf(cfg_factory(override))


def test_a_custom_set_key_that_does_not_exist_fails_by_name(cfg_factory) -> None:
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as exc:
        cfg_factory("world.custom_set.sise=12")
    assert "sise" in str(exc.value.__cause__ or exc.value)


def test_the_custom_set_is_not_part_of_the_world_key(cfg_factory) -> None:
    """Another custom set must not make the world (and every run on it) stale."""
    from gdo.world.stage import world_key

    base = world_key(cfg_factory("experiment=demo"))
    assert world_key(cfg_factory("experiment=custom_goal")) == base
    assert world_key(cfg_factory("experiment=demo", "world.custom_set.size=12")) == base
    assert world_key(cfg_factory("experiment=demo", "world.seed=1")) != base


def test_the_old_notes_custom_set_names_its_new_key(cfg_factory) -> None:
    from gdo.config import check_config
    from gdo.utils.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'notes\.custom_set' is now 'world\.custom_set'"):
        check_config(cfg_factory("+notes.custom_set.size=12"))


def _scored_pool(root: Path):
    """A scored synthetic pool whose questions are about colour order or counting."""
    from conftest import compose
    from synthetic import make_pool

    from gdo.scoring.stage import run as score_run

    pool, desc, _ = make_pool(800, seed=5)
    order = pool.index % 3 == 0
    pool["question"] = "how many shapes are there?"
    pool.loc[order, "question"] = "what colour appears first?"
    wd = root / "outputs" / "g"
    for sub, df, name in (("pool", pool, "pool.parquet"), ("descriptors", desc, "desc")):
        (wd / sub).mkdir(parents=True, exist_ok=True)
        df.to_parquet(wd / sub / ("descriptors.parquet" if name == "desc" else name))

    def cfg(*over: str):
        return compose([f"paths.root_dir={root}", "name=g", "select.plot=false", *over])

    score_run(cfg())
    return cfg, pool.loc[order, "uid"]


def test_goal_from_a_file_pulls_its_questions_and_reports_how_many(tmp_path) -> None:
    from gdo.selection.stage import run as select_run

    cfg, order_uids = _scored_pool(tmp_path)
    rows = [
        _row(f"q{i}", question=q, media="media/b.mp4")
        for i, q in enumerate(["what colour appears first?", "which colour appears first?"] * 3)
    ]
    goal_file = _jsonl(tmp_path / "mine" / "questions.jsonl", rows)
    out = select_run(cfg("goal=target", f"goal.target.benchmark={goal_file}"))
    rel = json.loads((out / "manifest.json").read_text())["counts"]["relevance"]
    assert rel["column"] == "goal_rel_file_mine" and rel["files"][0]["questions"] == 6
    assert rel["pulled_by_relevance"] + rel["kept_from_shared_score"] == rel["selected"]
    assert rel["pulled_by_relevance"] > 0
    assert rel["mean_relevance_subset"] > rel["mean_relevance_shared_score_subset"]
    subset = pd.read_parquet(out / "subset.parquet")
    base = select_run(cfg("goal=temp_plus"))
    plain = pd.read_parquet(base / "subset.parquet")
    share = subset["uid"].isin(order_uids).mean()
    assert share > plain["uid"].isin(order_uids).mean()  # the goal's questions gained
    assert "pulled in by relevance" in (out / "report.md").read_text()


def test_goal_from_weighted_files_and_file_content_in_the_key(tmp_path) -> None:
    from gdo.selection.stage import run as select_run

    cfg, _ = _scored_pool(tmp_path)
    a = _jsonl(tmp_path / "a.jsonl", [_row("a1", question="what colour appears first?")])
    b = tmp_path / "b.txt"
    b.write_text("how many shapes are there?\n")
    files = f"goal.target.files=[{{path: {a}, weight: 3}}, {{path: {b}, weight: 1}}]"
    out = select_run(cfg("goal=target", files))
    m1 = json.loads((out / "manifest.json").read_text())
    info = m1["counts"]["relevance"]
    assert [f["kind"] for f in info["files"]] == ["custom", "questions"]
    assert info["column"] == "goal_rel_files"
    b.write_text("what colour appears first?\n")  # same config, other questions: not fresh
    m2 = json.loads((select_run(cfg("goal=target", files)) / "manifest.json").read_text())
    assert m2["key"] != m1["key"]
