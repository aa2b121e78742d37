"""read_benchmark on dataset roots laid out as each release ships them (built in tmp_path).

Layouts follow the releases and what lmms-eval's task files read: MVBench
(OpenGVLab/MVBench: ``json/<subtask>.json`` + ``video/<source>/...``, or the ``video``
revision with the source folders at the root), Video-MME (lmms-lab/Video-MME:
``videomme/test-*.parquet`` + ``data/<videoID>.mp4``), MLVU (test:
``test-ground-truth/test_mcq_gt.json``; dev: ``MLVU/json/<n_task>.json`` +
``MLVU/video/<n_task>/``; lmms-eval: ``mlvu_test/*.parquet``) and LVBench (lmms-eval:
``data/*.parquet`` with ``video_path``; THUDM: ``video_info.meta.jsonl`` with ``qa`` lists).
Media files are empty placeholders: the readers only check that they exist.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest

from gdo.benchmarks.layouts import locate
from gdo.evaluation import read_benchmark
from gdo.evaluation.stage import _questions_key
from gdo.utils.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "benchmarks"


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def mc(video: str, answer: str = "B", **extra) -> dict:
    return {"video": video, "question": "What happens?", "candidates": list("ABCD"), **extra} | {
        "answer": answer
    }


def mvbench_questions(json_dir: Path, tvqa_video: str) -> None:
    write_json(json_dir / "action_sequence.json", [mc("3MSZA.mp4"), mc("ZZZZZ.mp4")])
    write_json(json_dir / "moving_count.json", [mc("video_10005.mp4")])
    write_json(json_dir / "fine_grained_pose.json", [mc("S001C001.avi")])
    write_json(json_dir / "episodic_reasoning.json", [mc(tvqa_video)])


def test_mvbench_main_release_root(tmp_path, caplog) -> None:
    root = tmp_path / "MVBench"
    mvbench_questions(root / "json", "s01e01_seg1")
    touch(root / "video" / "star.zip")  # the archives stay next to what they extracted
    touch(root / "video/star/Charades_v1_480/3MSZA.mp4")
    touch(root / "video/data0613/star/Charades_v1_480/ZZZZZ.mp4")  # the 0613 update
    touch(root / "video/clevrer/video_validation/video_10005.mp4")
    touch(root / "video/tvqa/frames_fps3_hq/s01e01_seg1/00001.jpg")
    touch(root / "video/tvqa/frames_fps3_hq/s01e01_seg1/00002.jpg")
    with caplog.at_level(logging.INFO, logger="gdo.benchmarks.readers"):
        df = read_benchmark(root, "mvbench")
    by = df.set_index("qid")
    v = root / "video"
    assert by.loc["action_sequence/0", "media"] == [str(v / "star/Charades_v1_480/3MSZA.mp4")]
    assert by.loc["action_sequence/1", "media"][0].endswith(
        "data0613/star/Charades_v1_480/ZZZZZ.mp4"
    )
    assert by.loc["moving_count/0", "media"][0].endswith("clevrer/video_validation/video_10005.mp4")
    assert by.loc["episodic_reasoning/0", "media_kind"] == "frames"
    assert len(by.loc["episodic_reasoning/0", "media"]) == 2
    # nturgbd was not extracted: flagged missing under the subtask's own folder name
    assert by.loc["fine_grained_pose/0", "video_missing"]
    assert df["video_missing"].sum() == 1
    layout = df.attrs["layout"]
    assert layout["form"] == "OpenGVLab/MVBench: json/ + video/"
    assert layout["question_files"] == [
        "json/action_sequence.json",
        "json/episodic_reasoning.json",
        "json/fine_grained_pose.json",
        "json/moving_count.json",
    ]
    assert layout["media_roots"] == ["video", "."]
    assert (layout["questions"], layout["video_missing"]) == (5, 1)
    assert "OpenGVLab/MVBench: json/ + video/" in caplog.text and "5 questions" in caplog.text


def test_mvbench_video_revision_root_and_user_media_map(tmp_path) -> None:
    # The `video` revision lmms-eval downloads: source folders at the root, next to json/,
    # a json/readme.md and a root test.json that are not subtask files.
    root = tmp_path / "mvbench_video"
    mvbench_questions(root / "json", "s01e01_seg1.mp4")
    touch(root / "json" / "readme.md")
    write_json(root / "test.json", [{"not": "a subtask file"}])
    touch(root / "star/Charades_segment/3MSZA.mp4")
    touch(root / "clevrer/video_validation/video_10005.mp4")
    touch(root / "tvqa/video_fps3_hq_segment/s01e01_seg1.mp4")
    touch(root / "my_ntu/S001C001.avi")
    df = read_benchmark(root, "mvbench", media_map={"fine_grained_pose": "my_ntu"})
    by = df.set_index("qid")
    assert by.loc["action_sequence/0", "media"] == [str(root / "star/Charades_segment/3MSZA.mp4")]
    assert by.loc["episodic_reasoning/0", "media_kind"] == "video"
    assert by.loc["fine_grained_pose/0", "media"] == [str(root / "my_ntu/S001C001.avi")]
    assert df["video_missing"].tolist().count(True) == 1  # ZZZZZ.mp4 only
    assert df.attrs["layout"]["media_roots"] == ["."]
    assert len(df.attrs["layout"]["question_files"]) == 4


def test_videomme_root_with_an_archive_extracted_one_level_deeper(tmp_path) -> None:
    root = tmp_path / "Video-MME"
    shutil.copy(
        FIX / "videomme/videomme.parquet", touch(root / "videomme/test-00000-of-00001.parquet")
    )
    for name in ("fFjv93ACGo8.mp4", "p9Ju0xdBzGM.mkv"):
        touch(root / "data" / name)
    touch(root / "videos_chunked_02/data/Kq3bWw1Tt5k.MP4")  # found by its file name
    touch(root / "subtitle/fFjv93ACGo8.srt")
    df = read_benchmark(root, "videomme")
    by = df.set_index("qid")
    assert by.loc["001-1", "media"] == [str(root / "data/fFjv93ACGo8.mp4")]
    assert by.loc["301-1", "media"] == [str(root / "videos_chunked_02/data/Kq3bWw1Tt5k.MP4")]
    assert by.loc["601-1", "media"][0].endswith("data/p9Ju0xdBzGM.mkv")
    layout = df.attrs["layout"]
    assert layout["question_files"] == ["videomme/test-00000-of-00001.parquet"]
    assert layout["media_roots"] == ["data", "."]
    assert layout["videos_found_by_name"] == 1
    # the one video missing in the fixture stays missing, reported under data/
    missing = df[df["video_missing"]]
    assert len(missing) == 1 and "/data/" in missing["media"].iloc[0][0]


def test_mlvu_test_root_reads_the_ground_truth_file(tmp_path) -> None:
    root = tmp_path / "MLVU_Test"
    gt = json.loads((FIX / "mlvu/test.json").read_text())
    write_json(root / "test-ground-truth/test_mcq_gt.json", gt)
    write_json(root / "test-ground-truth/test_ssc_gt.json", [{"video": "x.mp4"}])
    no_answers = [{k: v for k, v in r.items() if k != "answer"} for r in gt]
    write_json(root / "test_multi_choice_tasks.json", no_answers)
    for name in ("count_7.mp4", "needle_32.mp4", "sports_3.mp4"):
        touch(root / "video" / name)
    df = read_benchmark(root, "mlvu")
    assert len(df) == len(gt)
    assert df.set_index("qid").loc["test_sports_0", "answer_letter"] == "F"
    assert df.attrs["layout"]["question_files"] == ["test-ground-truth/test_mcq_gt.json"]
    assert df["media"].map(lambda m: m[0].startswith(str(root / "video"))).all()


def test_mlvu_dev_root_per_task_video_folders_and_open_ended_left_out(tmp_path) -> None:
    root = tmp_path / "MVLU"
    for f in ("1_plotQA.json", "4_count.json"):
        shutil.copy(FIX / "mlvu/dev" / f, touch(root / "MLVU/json" / f))
    subplot = {"video": "subPlot_1.mp4", "question": "Describe it.", "answer": "A man..."}
    write_json(root / "MLVU/json/8_sub_scene.json", [subplot])
    write_json(root / "MLVU/json/9_summary.json", [subplot])
    touch(root / "MLVU/video/1_plotQA/plot_1.mp4")
    touch(root / "MLVU/video/4_count/count_7.mp4")
    df = read_benchmark(root, "mlvu")
    assert df["task_type"].tolist() == ["plotQA", "plotQA", "count"]
    assert not df["video_missing"].any()
    assert df["media"].iloc[2] == [str(root / "MLVU/video/4_count/count_7.mp4")]
    layout = df.attrs["layout"]
    assert layout["form"] == "MLVU dev: MLVU/json/ + MLVU/video/"
    assert layout["skipped_files"] == ["MLVU/json/8_sub_scene.json", "MLVU/json/9_summary.json"]


def test_mlvu_lmms_eval_parquet_root(tmp_path) -> None:
    root = tmp_path / "mlvu_test_hf"
    rows = json.loads((FIX / "mlvu/test.json").read_text())
    touch(root / "mlvu_test/test-00000-of-00001.parquet")
    pd.DataFrame(rows).to_parquet(root / "mlvu_test/test-00000-of-00001.parquet")
    for name in ("count_7.mp4", "needle_32.mp4", "sports_3.mp4"):
        touch(root / "video_part_1" / name)  # a zip part extracted as it came
    df = read_benchmark(root, "mlvu")
    assert df.attrs["layout"]["form"] == "MLVU (lmms-eval parquet)"
    assert not df["video_missing"].any()
    assert df.attrs["layout"]["videos_found_by_name"] == df["media"].map(tuple).nunique()


def test_lvbench_lmms_eval_parquet_root(tmp_path) -> None:
    root = tmp_path / "LVBench"
    rows = [json.loads(line) for line in (FIX / "lvbench/lvbench.jsonl").read_text().splitlines()]
    for r in rows:
        r["video_path"] = f"videos/{r['video_path']}"
    touch(root / "data/train-00000-of-00001.parquet")
    pd.DataFrame(rows).to_parquet(root / "data/train-00000-of-00001.parquet")
    touch(root / "videos/Cm73ma6Ibcs.mp4")
    touch(root / "videos/4O7n8Y2gAiU.mp4")
    df = read_benchmark(root, "lvbench")
    assert df["answer_letter"].tolist() == ["A", "C", "B", "D"]
    assert df["video_missing"].tolist() == [False, False, False, True]
    assert df["media"].iloc[0] == [str(root / "videos/Cm73ma6Ibcs.mp4")]
    assert df.attrs["layout"]["question_files"] == ["data/train-00000-of-00001.parquet"]


def test_lvbench_thudm_meta_jsonl_with_nested_questions(tmp_path) -> None:
    root = tmp_path / "LVBench"
    q = "Which colour is the car?\n(A) Red\n(B) Blue\n(C) Green\n(D) Black"
    lines = [
        {
            "key": "Cm73ma6Ibcs",
            "type": "cartoon",
            "video_info": {"duration_minutes": 61.2},
            "qa": [
                {
                    "uid": "101",
                    "question": q,
                    "answer": "B",
                    "question_type": ["entity recognition"],
                    "time_reference": "00:15-00:19",
                },  # fmt: skip
                {
                    "uid": "102",
                    "question": q,
                    "answer": "D",
                    "question_type": ["reasoning", "event understanding"],
                    "time_reference": "",
                },  # fmt: skip
            ],
        },
        {
            "key": "NOTDOWNLOADED",
            "type": "sports",
            "qa": [{"uid": "201", "question": q, "answer": "A"}],
        },
    ]
    path = root / "data/video_info.meta.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    touch(root / "videos/Cm73ma6Ibcs.mp4")
    df = read_benchmark(root, "lvbench")
    assert df["qid"].tolist() == ["101", "102", "201"]
    assert df["answer_letter"].tolist() == ["B", "D", "A"]
    assert df["type"].tolist() == ["cartoon", "cartoon", "sports"]
    assert df["question_type"].iloc[1] == "reasoning|event understanding"
    assert df["media"].iloc[0] == [str(root / "videos/Cm73ma6Ibcs.mp4")]
    assert df["video_missing"].tolist() == [False, False, True]
    assert df["record"].tolist() == [0, 0, 1]
    assert df.attrs["layout"]["form"] == "THUDM/LVBench: video_info.meta.jsonl"


def test_explicit_media_root_wins_and_turns_the_search_off(tmp_path) -> None:
    root = tmp_path / "Video-MME"
    shutil.copy(FIX / "videomme/videomme.parquet", touch(root / "videomme/test-0.parquet"))
    touch(root / "elsewhere/fFjv93ACGo8.mp4")
    df = read_benchmark(root, "videomme", FIX / "videomme/data")
    assert df["video_missing"].tolist() == [False] * 5 + [True]
    assert df.attrs["layout"]["media_roots"] == [str(FIX / "videomme/data")]
    assert df.attrs["layout"]["videos_found_by_name"] == 0


def test_an_unrecognised_folder_names_the_layouts_looked_for(tmp_path) -> None:
    (tmp_path / "nothing_here").mkdir()
    touch(tmp_path / "nothing_here" / "readme.md")
    with pytest.raises(
        InputError, match=r"nothing_here.*expected a videomme dataset folder.*videomme/\*\.parquet"
    ):
        read_benchmark(tmp_path / "nothing_here", "videomme")


def test_todays_forms_keep_their_layout_and_key(tmp_path) -> None:
    # A question file: no layout; a folder of subtask files (the world's form): its files.
    df = read_benchmark(FIX / "mlvu/test.json", "mlvu", FIX / "mlvu/video")
    assert "layout" not in df.attrs
    layout = locate(FIX / "mvbench/json", "mvbench", FIX / "mvbench/video")
    assert layout.form == "folder of question files" and not layout.search
    # The eval key of a dataset root follows its question files, not the root's listing.
    root = tmp_path / "Video-MME"
    parquet = touch(root / "videomme/test-00000-of-00001.parquet")
    shutil.copy(FIX / "videomme/videomme.parquet", parquet)
    spec = {"name": "videomme", "kind": "videomme", "path": str(root)}
    key = _questions_key(root, spec, read_benchmark(root, "videomme"))
    pd.read_parquet(parquet).head(3).to_parquet(parquet)
    assert _questions_key(root, spec, read_benchmark(root, "videomme")) != key


def test_evaluate_records_the_layout_of_a_dataset_folder(cfg_factory, tmp_path) -> None:
    from test_eval_support import FakeVLM, make_training

    from gdo.evaluation.config import BenchmarkConf
    from gdo.evaluation.stage import run

    root = tmp_path / "Video-MME"
    shutil.copy(FIX / "videomme/videomme.parquet", touch(root / "videomme/test-0.parquet"))
    for name in ("fFjv93ACGo8.mp4", "Kq3bWw1Tt5k.MP4", "p9Ju0xdBzGM.mkv"):
        touch(root / "data" / name)
    cfg = cfg_factory("logger=none")
    cfg.eval.benchmarks = [BenchmarkConf(name="vm", kind="videomme", path=str(root))]
    make_training(Path(cfg.paths.work_dir), {"uniform": [100]})
    gold = dict(zip(*read_benchmark(root, "videomme")[["qid", "answer_letter"]].T.values))
    out = run(cfg, load=lambda model_cfg, path: FakeVLM(path, gold, 0.5))
    summary = json.loads((out / "uniform/ckpt-100/vm.summary.json").read_text())
    assert summary["layout"]["form"] == "lmms-lab/Video-MME: videomme/*.parquet + data/"
    assert summary["layout"]["question_files"] == ["videomme/test-0.parquet"]
    assert summary["n_video_missing"] == 1
    index = json.loads((out / "eval_summary.json").read_text())
    assert index["layouts"]["vm"]["media_roots"] == ["data", "."]


def test_one_list_of_video_extensions_in_any_case(tmp_path: Path) -> None:
    # The folder readers and the custom kind used two lists that disagreed (.m4v, .MP4).
    from gdo.benchmarks.custom import _media
    from gdo.benchmarks.layouts import MediaFinder

    (tmp_path / "a.m4v").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.MOV").write_bytes(b"")
    finder = MediaFinder([tmp_path / "none"], search_root=tmp_path)
    kw = {"file": "q.json", "where": "row 1", "field": "video"}
    assert MediaFinder([tmp_path]).video("a", **kw) == tmp_path / "a.m4v"  # a bare id
    assert finder.video("b.MOV", **kw) == tmp_path / "sub" / "b.MOV"  # found by file name
    for name in ("a.m4v", "b.MOV", "c.MP4"):
        assert _media(name, "media", tmp_path)[0] == "video"
