"""``gdo evaluate`` on several ranks writes the tables one rank writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_video

from gdo.evaluation.predict import Predictions
from gdo.evaluation.ranks import Ranks, merge

REPO = Path(__file__).resolve().parent.parent


def test_each_rank_takes_every_nth_question_and_rank_0_merges_them_in_row_order() -> None:
    n, world = 7, 3
    assert [Ranks(r, world).rows(n) for r in range(world)] == [[0, 3, 6], [1, 4], [2, 5]]
    parts = [
        Predictions(
            answers=[f"a{i}" for i in Ranks(r, world).rows(n)],
            option_scores=[[float(i)] for i in Ranks(r, world).rows(n)],
            skipped=["" if i != 4 else "too_long" for i in Ranks(r, world).rows(n)],
            counts={"n": len(Ranks(r, world).rows(n)), "oom_backoffs": r, "batch_size": 8 - r},
        )
        for r in range(world)
    ]
    merged = merge(parts, n)
    assert merged.answers == [f"a{i}" for i in range(n)]
    assert merged.option_scores == [[float(i)] for i in range(n)]
    assert merged.skipped == ["", "", "", "", "too_long", "", ""]
    assert merged.counts == {"n": 7, "oom_backoffs": 3, "batch_size": 6}
    assert Ranks().gather(parts[0], 3) is not None and Ranks(1, 2).main is False


def _tables(eval_dir: Path) -> dict[str, list[dict]]:
    return {
        str(p.relative_to(eval_dir)): [json.loads(x) for x in p.read_text().splitlines()]
        for p in sorted(eval_dir.glob("*/ckpt-*/*.jsonl"))
    }


@pytest.mark.slow
def test_two_ranks_write_the_tables_of_one_rank(tmp_path: Path) -> None:
    from conftest import compose

    from gdo.evaluation import build_prompt, read_benchmark
    from gdo.models import build_tiny, vocabulary_from_texts

    bench = tmp_path / "bench"
    (bench / "video").mkdir(parents=True)
    colours = {"red": (0, 0, 255), "blue": (255, 0, 0), "green": (0, 255, 0)}
    for name, bgr in colours.items():
        write_video(bench / "video" / f"{name}.mp4", bgr)
    records = [
        {"qid": f"q{i}", "video": f"{video}.mp4", "question": question,
         "options": options, "answer": "A", "subtask": "colour"}
        for i, (video, question, options) in enumerate(
            [(v, q, o) for v in [*colours, "gone"]
             for q, o in [("what colour is the shape?", ["red", "blue", "green"]),
                          ("is there a shape?", ["yes", "no"])]]
        )
    ]  # fmt: skip
    (bench / "custom.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    questions = read_benchmark(bench / "custom.jsonl", "custom", bench / "video")
    prompts = [
        build_prompt(q, list(o), "custom") for q, o in zip(questions.question, questions.options)
    ]
    spec = (f"eval.benchmarks=[{{name:colours,kind:custom,path:{bench / 'custom.jsonl'},"
            f"media_root:{bench / 'video'}}}]")  # fmt: skip
    tables = {}
    for ranks in (1, 2):
        overrides = [f"paths.root_dir={tmp_path}", f"name=r{ranks}", "logger=none", spec]
        work = Path(compose(overrides).paths.work_dir)
        base = build_tiny(
            compose(overrides).model, work / "base_model", vocabulary_from_texts(prompts)
        )
        ck = work / "train" / "goal" / "checkpoints" / "ckpt-100"
        shutil.copytree(base, ck)
        (ck / "gdo_state.json").write_text(json.dumps({"samples": 100}))
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "GDO_PROGRESS": "0"}
        proc = subprocess.run([sys.executable, *launcher, "-m", "gdo", "evaluate", *overrides],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        summary = json.loads((work / "eval" / "eval_summary.json").read_text())
        assert summary["counts"]["ranks"] == ranks
        tables[ranks] = _tables(work / "eval")
    one, two = tables[1], tables[2]
    assert one.keys() == two.keys() == {"base/ckpt-0/colours.jsonl", "goal/ckpt-100/colours.jsonl"}
    for name, rows in one.items():
        assert [r["qid"] for r in rows] == [r["qid"] for r in two[name]]
        for a, b in zip(rows, two[name], strict=True):
            assert (a["letter"], a["skipped"], a["correct"]) == (
                b["letter"],
                b["skipped"],
                b["correct"],
            )
            np.testing.assert_allclose(a["option_scores"], b["option_scores"], atol=1e-5)
