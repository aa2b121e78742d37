"""Bad input, second round (issue 16): nothing silently changed, no tracebacks for user
errors, no empty success. One section per item; the inputs are in tests/fixtures/bad_input."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gdo.benchmarks.check import main as check_main
from gdo.evaluation import read_benchmark
from gdo.media import MediaError
from gdo.pool import build_pool, read_candidates
from gdo.pool.schema import make_uid
from gdo.utils.errors import ConfigError, InputError

FIX = Path(__file__).parent / "fixtures" / "bad_input"
CUSTOM, POOL, BENCH = FIX / "custom", FIX / "pool", FIX / "benchmarks"
MEDIA = POOL / "media"
REPO = Path(__file__).resolve().parent.parent
OLD = Path(__file__).parent / "fixtures"


def check(path: Path, capsys) -> tuple[int, str]:
    """``gdo benchmark check PATH``: (exit status, everything it printed)."""
    rc = check_main([str(path)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def pool(*files: str, on_error: str = "raise", **extra):
    entries = [{"path": str(POOL / f), "media_root": str(MEDIA)} for f in files]
    return build_pool({"files": entries, "on_error": on_error, **extra})


# 1. Option columns past F ------------------------------------------------------------
def test_option_columns_a_to_h_are_all_read(capsys) -> None:
    f = CUSTOM / "eight_option_columns.csv"
    rc, out = check(f, capsys)
    assert rc == 0 and "no problems" in out
    df = read_benchmark(f, "custom").set_index("qid")
    assert list(df.loc["q1", "options"]) == [
        "circle", "square", "star", "heart", "moon", "cross", "ring", "arrow",
    ]  # fmt: skip
    assert (df.loc["q1", "answer_letter"], df.loc["q2", "answer_letter"]) == ("B", "H")


# 2. An empty option would shift the letters -------------------------------------------
def test_null_or_empty_option_is_refused_not_dropped(capsys) -> None:
    f = CUSTOM / "empty_option.jsonl"
    rc, out = check(f, capsys)
    assert rc == 1
    assert "line 1, field 'options': option 2 is empty (null)" in out
    assert "line 2, field 'options': option 2 is empty (\"\")" in out
    with pytest.raises(InputError, match=r"line 1, field 'options': option 2 is empty"):
        read_benchmark(f, "custom")


# 3. Same id, different content ---------------------------------------------------------
def test_same_id_with_other_content_is_kept_and_rekeyed() -> None:
    df, report = pool("same_id.jsonl")
    assert sorted(df["question"]) == [
        "Does the star change colour?",
        "How many shapes are there?",
        "What colour is the circle?",
        "What moves first?",
        "Which way does the circle move?",
    ]
    assert df["uid"].is_unique
    # Only the exact copy of r1's first record goes.
    assert dict(report.dropped) == {"duplicate_uid": 1}
    assert report.notes["uid_rekeyed_content"] == 4  # r1 x2, 5 and "5"
    # A row without a collision keeps the plain uid (the world's artifacts do not change).
    by_q = df.set_index("question")["uid"]
    assert by_q["Does the star change colour?"] == make_uid("0_30_s_toy", "r2", 0)


def test_rekeyed_uids_depend_on_neither_record_order_nor_folder(tmp_path: Path) -> None:
    lines = (POOL / "same_id.jsonl").read_text().splitlines()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same_id.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "b" / "same_id.jsonl").write_text("\n".join(reversed(lines)) + "\n")
    # Media paths resolve against each file's folder; the content hash uses them relative
    # to it, so the same data elsewhere (another machine) gets the same uids.
    uids = []
    for d in ("a", "b"):
        df, _ = build_pool({"files": [{"path": str(tmp_path / d / "same_id.jsonl")}]})
        uids.append(dict(zip(df["question"], df["uid"])))
    assert uids[0] == uids[1] and len(uids[0]) == 5


def test_two_files_with_one_stem_keep_their_different_rows(tmp_path: Path) -> None:
    lines = (POOL / "same_id.jsonl").read_text().splitlines()
    for folder, line in (("a", lines[0]), ("b", lines[1])):  # both id r1, turn 0
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "p.jsonl").write_text(line + "\n")
    files = [{"path": str(tmp_path / d / "p.jsonl")} for d in ("a", "b")]
    df, report = build_pool({"files": files})
    assert len(df) == 2 and df["uid"].is_unique and not report.dropped


# 4. A UTF-8 byte-order mark ------------------------------------------------------------
@pytest.mark.parametrize("name", ["bom.jsonl", "bom.json"])
def test_pool_file_with_a_bom_loses_nothing(name: str) -> None:
    df, report = pool(name)
    assert df["sample_id"].tolist() == ["b1", "b2"] and not report.dropped


def test_pool_jsonl_with_a_bom_read_in_parallel() -> None:
    p = POOL / "bom.jsonl"
    df = read_candidates(p, media_root=MEDIA, workers=2, parallel_min_bytes=1)
    assert df["sample_id"].tolist() == ["b1", "b2"]


@pytest.mark.parametrize("name", ["spreadsheet_bom.csv", "bom.jsonl"])
def test_custom_benchmark_with_a_bom(name: str, capsys) -> None:
    rc, out = check(CUSTOM / name, capsys)
    assert rc == 0, out
    assert read_benchmark(CUSTOM / name, "custom")["qid"].iloc[0] == "q1"


# 5. Empty files, an object where a list belongs ---------------------------------------
@pytest.mark.parametrize(
    ("name", "reason", "phrase"),
    [
        ("empty.jsonl", "empty_file", "empty file: no records"),
        ("blank.jsonl", "empty_file", "empty file: no records"),
        ("object.json", "malformed_file", "got an object with keys data"),
    ],
)
def test_a_file_without_records_is_refused_or_counted_as_a_file(
    name: str, reason: str, phrase: str
) -> None:
    with pytest.raises(InputError, match=phrase):
        pool(name)
    # skip: the file is counted as a file (not as one record) and named ...
    df, report = pool(name, "good.jsonl", on_error="skip")
    assert df["sample_id"].tolist() == ["g1"]
    assert dict(report.skipped_files) == {reason: 1} and not report.dropped
    assert report.files[0]["skipped"] == reason
    # ... and a pool left with nothing is an error, never an empty success.
    with pytest.raises(InputError, match=r"pool\.files: no candidate from 1 file"):
        pool(name, on_error="skip")


def test_pool_manifest_counts_skipped_files(cfg_factory) -> None:
    from gdo.pool.config import PoolFileConf
    from gdo.pool.stage import run
    from gdo.utils.manifest import read_manifest

    cfg = cfg_factory("pool.on_error=skip", "pool.check_media=false", "pool.probe_media=false")
    cfg.pool.files = [
        PoolFileConf(path=str(POOL / f), media_root=str(MEDIA))
        for f in ("empty.jsonl", "good.jsonl")
    ]
    out = run(cfg)
    m = read_manifest(out.parent)
    assert m["counts"]["candidates"] == 1
    assert m["counts"]["skipped_files"] == {"empty_file": 1}
    assert m["report"]["files"][0]["skipped"] == "empty_file"


# 6. A folder named like a video --------------------------------------------------------
def test_check_media_refuses_a_folder_named_x_mp4() -> None:
    with pytest.raises(MediaError, match=r"folder\.mp4.*line 2.*not a regular file"):
        pool("folder_video.jsonl", check_media=True)
    df, report = pool("folder_video.jsonl", on_error="skip", check_media=True)
    assert df["sample_id"].tolist() == ["r1"]
    assert report.dropped["unreadable_media"] == 1


# 7. Standard readers keep videos inside the media root --------------------------------
@pytest.mark.parametrize(
    ("name", "kind", "field"),
    [
        ("mvbench_escape.json", "mvbench", "video"),
        ("videomme_absolute.jsonl", "videomme", "videoID"),
        ("mlvu_absolute.json", "mlvu", "video_name"),
        ("lvbench_escape.jsonl", "lvbench", "video_path"),
    ],
)
def test_standard_readers_refuse_media_outside_the_root(name: str, kind: str, field: str) -> None:
    with pytest.raises(
        InputError, match=rf"{name}, record 0, field '{field}': path escapes the media root"
    ):
        read_benchmark(BENCH / name, kind)


def test_standard_reader_accepts_an_absolute_path_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "v.mp4").write_bytes(b"x")
    rec = json.loads((BENCH / "mlvu_absolute.json").read_text())[0]
    rec["video_name"] = str(tmp_path / "v.mp4")
    f = tmp_path / "test.json"
    f.write_text(json.dumps([rec]))
    df = read_benchmark(f, "mlvu")
    assert df["media"].iloc[0] == [str(tmp_path / "v.mp4")] and not df["video_missing"].any()


# 8. One clear message, no traceback ----------------------------------------------------
def gdo(args: list[str], capfd) -> tuple[int, str]:
    """``gdo ARGS`` in this process: (exit status, stderr)."""
    from gdo.cli import main

    rc = main(args)
    return rc, capfd.readouterr().err


@pytest.fixture
def no_debug(monkeypatch) -> None:
    # `--debug` sets HYDRA_FULL_ERROR for the process; monkeypatch puts it back.
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["pool", f"pool.files=[{{path: {POOL / 'object.json'}}}]"], "got an object with keys"),
        (["pool", "pool.on_error=skip", f"pool.files=[{{path: {POOL / 'empty.jsonl'}}}]"],
         "no candidate from 1 file"),
        (["pool", f"pool.files=[{{path: {POOL / 'candidates_bad_dtypes.parquet'}}}]"],
         "field 'turn'"),
        (["select", "+goal.wieght=1"], "unknown config key(s): goal.wieght"),
        (["select", "goal.max_ratio=-0.5"], "goal.max_ratio=-0.5: expected a number in (0, 1]"),
        (["evaluate", f"eval.benchmarks=[{{name: m, kind: mlvu, path: {BENCH / 'mlvu_duration_long.json'}}}]"],
         "field 'duration'"),
        # Earlier rounds' bad input, through the command line as well.
        (["pool", "pool.check_media=true",
          f"pool.files=[{{path: {OLD / 'pool' / 'llava_onevision.json'}, media_root: {CUSTOM}}}]"],
         "file not found"),
        (["evaluate", f"eval.benchmarks=[{{name: l, kind: lvbench, path: {OLD / 'benchmarks' / 'bad' / 'lvbench_letter_outside.jsonl'}}}]"],
         "answer letter outside"),
    ],
)  # fmt: skip
def test_user_errors_print_one_line_and_exit_1(
    args: list[str], phrase: str, tmp_path: Path, capfd, no_debug
) -> None:
    rc, err = gdo([*args, f"paths.root_dir={tmp_path}"], capfd)
    assert rc == 1
    assert "Traceback" not in err
    line = next(x for x in err.splitlines() if x.startswith(f"gdo {args[0]}: error: "))
    assert phrase in line


def test_world_refusal_prints_one_line(tmp_path: Path, capfd, no_debug) -> None:
    other = tmp_path / "not_a_world"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    rc, err = gdo(["world", f"paths.root_dir={tmp_path}", f"paths.world_dir={other}"], capfd)
    assert rc == 1 and "Traceback" not in err
    assert "gdo world: error: paths.world_dir=" in err and "is not a gdo world" in err


def test_debug_switch_shows_the_exception(tmp_path: Path, capfd, no_debug) -> None:
    from gdo.cli import main

    with pytest.raises(ConfigError, match="goal.wieght"):
        main(["select", "--debug", f"paths.root_dir={tmp_path}", "+goal.wieght=1"])
    assert os.environ["HYDRA_FULL_ERROR"] == "1"


def test_gdo_process_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    bad = f"pool.files=[{{path: {POOL / 'not_parquet.parquet'}}}]"
    cmd = [sys.executable, "-m", "gdo", "pool", f"paths.root_dir={tmp_path}", bad]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    assert "not_parquet.parquet, (parquet): cannot be read" in out.stderr


# 9. Errors that name the file, row and field ------------------------------------------
def test_candidates_parquet_with_wrong_dtypes_names_the_column() -> None:
    with pytest.raises(
        InputError,
        match=r"candidates_bad_dtypes\.parquet, row 0 \(candidates parquet\), field 'turn': "
        r"expected int64 values.*got '0' in a column of dtype",
    ):
        pool("candidates_bad_dtypes.parquet")
    _, report = pool("candidates_bad_dtypes.parquet", "good.jsonl", on_error="skip")
    assert dict(report.skipped_files) == {"malformed_file": 1}


def test_a_parquet_that_is_not_one() -> None:
    with pytest.raises(InputError, match=r"not_parquet\.parquet.*cannot be read.*a parquet file"):
        pool("not_parquet.parquet")
    df, report = pool("not_parquet.parquet", "good.jsonl", on_error="skip")
    assert len(df) == 1 and dict(report.skipped_files) == {"unreadable_file": 1}
    with pytest.raises(InputError, match=r"videomme_not_parquet\.parquet: cannot be read"):
        read_benchmark(BENCH / "videomme_not_parquet.parquet", "videomme")


def test_27_options(capsys) -> None:
    f = CUSTOM / "27_options.jsonl"
    rc, out = check(f, capsys)
    assert rc == 1 and "field 'options': at most 26 options (letters A to Z), got 27" in out
    with pytest.raises(InputError, match="at most 26 options"):
        read_benchmark(f, "custom")
    with pytest.raises(InputError, match=r"record 0, field 'options'.*at most 26 options"):
        read_benchmark(BENCH / "mlvu_27_options.json", "mlvu")


def test_utf16_files_are_named_as_such(capsys) -> None:
    with pytest.raises(InputError, match=r"mlvu_utf16\.json: the file is UTF-16 text"):
        read_benchmark(BENCH / "mlvu_utf16.json", "mlvu")
    rc, out = check(CUSTOM / "utf16.csv", capsys)
    assert rc == 1 and "utf16.csv: the file is UTF-16 text; save it as UTF-8" in out
    with pytest.raises(InputError, match=r"utf16\.jsonl.*the file is UTF-16 text"):
        pool("utf16.jsonl")
    _, report = pool("utf16.jsonl", "good.jsonl", on_error="skip")
    assert dict(report.skipped_files) == {"not_utf8": 1}


def test_mlvu_duration_that_is_not_a_number() -> None:
    with pytest.raises(
        InputError,
        match=r"mlvu_duration_long\.json, record 0, field 'duration': expected the video's "
        r"duration in seconds \(mlvu\), got long",
    ):
        read_benchmark(BENCH / "mlvu_duration_long.json", "mlvu")


# 10. Config: keys added with +, values out of range -----------------------------------
def test_plus_key_typo_is_refused() -> None:
    from conftest import compose

    from gdo.config import check_config

    with pytest.raises(ConfigError, match=r"unknown config key\(s\): goal\.wieght"):
        check_config(compose(["+goal.wieght=1"]))
    with pytest.raises(ConfigError, match=r"pool\.files\[0\]\.medai_root.*'media_root'"):
        check_config(compose(["pool=world", "+pool.files.0.medai_root=x"]))
    check_config(compose(["+notes.anything=1"]))  # notes is free-form


@pytest.mark.parametrize(
    ("override", "phrase"),
    [
        ("goal.max_ratio=-0.5", "goal.max_ratio=-0.5: expected a number in (0, 1]"),
        ("goal.max_ratio=1.5", "goal.max_ratio=1.5"),
        ("goal.min_count=-3", "goal.min_count=-3: expected a number >= 0"),
        ("goal.vds3_positives=-1", "goal.vds3_positives=-1"),
        ("goal.multiplier=0", "goal.multiplier=0"),
        ("goal.score_floor_quantile=1", "goal.score_floor_quantile=1"),
        ("goal.oversample.temporal=-1", "goal.oversample.temporal=-1"),
        ("+goal.source_floors.x=-2", "goal.source_floors.x=-2"),
        ("select.budget=-5", "select.budget=-5"),
        ("select.budget=12.5", "a count >= 1 must be a whole number"),
        ("select.max_per_video=-1", "select.max_per_video=-1"),
        ("pool.max_turns_per_video=-2", "pool.max_turns_per_video=-2"),
        ("pool.workers=0", "pool.workers=0"),
    ],
)
def test_out_of_range_values_are_refused(override: str, phrase: str) -> None:
    from conftest import compose

    from gdo.config import check_config

    with pytest.raises(ConfigError) as info:
        check_config(compose([override]))
    assert phrase in str(info.value)


def test_budget_share_that_rounds_to_nothing() -> None:
    from gdo.selection.budget import explicit_budget

    with pytest.raises(ConfigError, match=r"select\.budget=0\.001: a share of the 400 .* to 0"):
        explicit_budget(0.001, 400)
    assert explicit_budget(0.01, 400) == 4


# 11. Temp folders of killed `gdo world` runs -------------------------------------------
def test_world_removes_temp_folders_of_dead_processes(cfg_factory) -> None:
    from gdo.utils.manifest import write_manifest
    from gdo.utils.stage import world_dir
    from gdo.world.stage import run, world_key

    cfg = cfg_factory("world=small")
    out = world_dir(cfg)
    write_manifest(out, stage="world", key=world_key(cfg), config=cfg.world, counts={}, seed=0)
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    stale = [
        out.parent / f".{out.name}.tmp-{host}-{dead.pid}",
        out.parent / f".{out.name}.tmp-{dead.pid}",
    ]
    for s in stale:
        (s / "media").mkdir(parents=True)
    kept = [
        out.parent / f".{out.name}.tmp-{host}-{os.getppid()}",  # a process that still runs
        out.parent / f".{out.name}.tmp-elsewhere-{dead.pid}",  # another machine's
        out.parent / f".{out.name}x.tmp-{host}-{dead.pid}",  # another folder's
    ]
    for k in kept:
        k.mkdir()
    assert run(cfg) == out  # fresh: nothing regenerated, but the dead run's folders go
    assert not any(s.exists() for s in stale)
    assert all(k.exists() for k in kept)
    for k in kept:
        shutil.rmtree(k)
