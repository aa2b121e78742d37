"""The describe runner: batches, shards, failures, resume after a kill, merge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import kill_once_written
from test_descriptors_helpers import (
    FAST,
    FakeVLM,
    FramedVLM,
    make_pool,
    pool_with_videos,
    shard_file,
)

from gdo.columns import (
    AMM,
    CLUSTER_REP,
    DESCRIPTORS,
    FRAME_DIV,
    SC,
    TNC,
    VDS,
)
from gdo.descriptors.clips import shard_key
from gdo.descriptors.merge import MergeError, merge
from gdo.descriptors.shards import open_shard, read_shard, shard_of
from gdo.descriptors.stage import run
from gdo.utils.errors import InputError
from gdo.utils.manifest import read_manifest
from gdo.utils.stage import work_dir

TESTS = Path(__file__).resolve().parent


def described(cfg, model=None) -> pd.DataFrame:
    run(cfg, model=model or FakeVLM())
    return pd.read_parquet(merge(cfg))


def by_uid(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("uid").reset_index(drop=True)


def test_run_and_merge_write_every_candidate_with_failures_counted(cfg_factory) -> None:
    cfg = cfg_factory(*FAST)
    pool = make_pool(work_dir(cfg))
    out = described(cfg)
    assert sorted(out["uid"]) == sorted(pool["uid"])
    failed = out[out["status"] == "failed"]
    assert sorted(failed["error"].str.split(":").str[0]) == ["MediaError", "TooLong"]
    assert failed[[AMM, VDS, TNC, SC, CLUSTER_REP]].isna().all().all()
    ok = out[out["status"] == "ok"]
    for col in DESCRIPTORS:
        assert ok[col].notna().all(), col
        assert f"z_{col}" in out
    assert "z_cluster_id" not in out and "z_rgb_mean_r" not in out
    m = read_manifest(work_dir(cfg) / "descriptors")
    assert m["counts"]["n_failed"] == 2 and m["counts"]["n_ok"] == len(pool) - 2
    assert m["counts"]["failed_by_reason"] == {"MediaError": 1, "TooLong": 1}
    # The world's separations in miniature: moving clips move, the fake model sees media.
    merged = pool.merge(out, on="uid")
    moving = merged["sample_id"].str[1:].astype(int) % 4 == 0
    assert merged.loc[moving & (merged.status == "ok"), AMM].min() > merged.loc[~moving, AMM].max()


def test_sc_disabled_gives_nan_and_skips_generation(cfg_factory) -> None:
    cfg = cfg_factory(*FAST, "descriptors.specs.self_consistency.enabled=false")
    make_pool(work_dir(cfg), n=8, broken=False)
    model = FakeVLM()
    out = described(cfg, model)
    assert out[SC].isna().all() and out["z_sc"].isna().all()
    assert all(call[0] == "losses" for call in model.calls)
    # A second merge with the same shards and config is skipped (its manifest is fresh).
    before = read_manifest(work_dir(cfg) / "descriptors")
    merge(cfg)
    assert read_manifest(work_dir(cfg) / "descriptors") == before


def test_model_passes_are_batched(cfg_factory) -> None:
    cfg = cfg_factory(*FAST, "descriptors.batch_size=8")
    make_pool(work_dir(cfg), n=16, broken=False)
    model = FakeVLM()
    run(cfg, model=model)
    assert [c for c in model.calls if c[0] == "losses"] == [("losses", 8), ("losses", 8)]


def test_two_shards_give_the_same_table_as_one_and_keep_clips_together(cfg_factory) -> None:
    one = cfg_factory(*FAST, "name=one")
    pool = pool_with_videos(work_dir(one))
    ref = by_uid(described(one, FramedVLM()))
    two = cfg_factory(*FAST, "name=two", "descriptors.shard.world_size=2")
    pool_with_videos(work_dir(two))
    clip = {u: shard_key(u, v, m) for u, v, m in zip(pool.uid, pool.video_id, pool.media)}
    owner: dict[str, int] = {}
    for rank in (0, 1):
        cfg = cfg_factory(
            *FAST, "name=two", "descriptors.shard.world_size=2", f"descriptors.shard.rank={rank}"
        )
        shard = run(cfg, model=FramedVLM())
        assert shard == shard_file(cfg, rank, 2)
        for r in read_shard(shard).rows:
            assert shard_of(clip[r["uid"]], 2) == rank
            owner[r["uid"]] = rank
    assert sorted(owner) == sorted(pool.uid) and set(owner.values()) == {0, 1}
    # Every clip's turns on one rank (the two clips with three turns and the one with two).
    turns = pool.assign(owner=pool.uid.map(owner), clip=pool.uid.map(clip)).groupby("clip")
    assert (turns.owner.nunique() == 1).all()
    assert sorted(turns.size())[-3:] == [2, 3, 3]
    got = by_uid(pd.read_parquet(merge(two)))
    # A batch error names the sample's position in its batch, which differs by shard.
    kind = lambda df: df["error"].str.split(":").str[0]  # noqa: E731
    assert kind(got).equals(kind(ref))
    pd.testing.assert_frame_equal(got.drop(columns="error"), ref.drop(columns="error"))


class Crash(Exception):
    pass


class CrashAfter(FakeVLM):
    def __init__(self, n_calls: int) -> None:
        super().__init__()
        self.left = n_calls

    def losses(self, samples):
        if self.left == 0:
            raise KeyboardInterrupt  # not a per-sample failure: it must stop the run
        self.left -= 1
        return super().losses(samples)


def test_resume_after_a_crash_and_a_truncated_line(cfg_factory) -> None:
    ref_cfg = cfg_factory(*FAST, "name=ref")
    make_pool(work_dir(ref_cfg))
    ref = by_uid(described(ref_cfg))

    cfg = cfg_factory(*FAST, "name=crash")
    make_pool(work_dir(cfg))
    with pytest.raises(KeyboardInterrupt):
        run(cfg, model=CrashAfter(2))
    shard = shard_file(cfg)
    n_before = len(read_shard(shard).rows)
    assert 0 < n_before < len(ref)
    with open(shard, "a") as fh:  # a kill in the middle of a write
        fh.write('{"uid": "abc", "status": "o')
    assert read_shard(shard).truncated
    out = by_uid(described(cfg))
    pd.testing.assert_frame_equal(out, ref)
    content = read_shard(shard)
    assert not content.truncated and len(content.rows) == len(ref)  # nothing twice


def test_merge_refuses_missing_candidates_and_ignores_stale_shards(cfg_factory) -> None:
    cfg = cfg_factory(*FAST)
    make_pool(work_dir(cfg), n=8, broken=False)
    run(cfg, model=FakeVLM())
    stale = shard_file(cfg, 0, 3)
    fh, _ = open_shard(stale, {"key": "old", "rank": 0, "world_size": 3})
    fh.write(json.dumps({"uid": "zzz", "status": "ok"}) + "\n")
    fh.close()
    merge(cfg)
    assert read_manifest(work_dir(cfg) / "descriptors")["counts"]["stale_shard_files"] == 1
    # A config change (different SC n) has its own folder, with nothing in it yet.
    changed = cfg_factory(*FAST, "descriptors.specs.self_consistency.n=4")
    with pytest.raises(MergeError, match="8 of 8 pool candidates"):
        merge(changed)


def test_a_changed_config_writes_a_new_folder_and_keeps_finished_shards(cfg_factory) -> None:
    cfg = cfg_factory(*FAST)
    make_pool(work_dir(cfg), n=8, broken=False)
    first = run(cfg, model=FakeVLM())
    before = first.read_bytes()
    ref = pd.read_parquet(merge(cfg))
    changed = cfg_factory(*FAST, "descriptors.specs.self_consistency.n=4")
    second = run(changed, model=FakeVLM())
    assert second.parent != first.parent and second.parent.parent == first.parent.parent
    assert first.read_bytes() == before  # the finished shards of the first config, untouched
    merge(changed)
    assert read_manifest(work_dir(cfg) / "descriptors")["counts"]["other_config_folders"] == 1
    # Back to the first config: nothing to describe again, the same table.
    model = FakeVLM()
    assert run(cfg, model=model) == first and model.calls == []
    pd.testing.assert_frame_equal(pd.read_parquet(merge(cfg)), ref)


def test_a_corrupt_middle_line_names_the_file_and_line(tmp_path) -> None:
    p = tmp_path / "shard-0-of-1.jsonl"
    p.write_text('{"_header": {"key": "k"}}\n{"uid": "a"}\nnot json\n{"uid": "b"}\n')
    with pytest.raises(InputError, match=r"shard-0-of-1.jsonl, line 3"):
        read_shard(p)


def test_missing_pool_and_model_say_what_to_run(cfg_factory) -> None:
    cfg = cfg_factory()
    with pytest.raises(InputError, match="gdo pool"):
        run(cfg)
    make_pool(work_dir(cfg), n=4, broken=False)
    with pytest.raises(InputError, match="gdo pretrain"):
        run(cfg)


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from conftest import compose
from test_descriptors_helpers import FAST, FakeVLM
from gdo.descriptors.stage import run
cfg = compose(["paths.root_dir={root}", "name=killed", *FAST, "descriptors.batch_size=2"])
run(cfg, model=FakeVLM(delay=float(sys.argv[1])))
"""


def test_sigkill_mid_run_then_restart_equals_an_uninterrupted_run(cfg_factory, tmp_path) -> None:
    ref_cfg = cfg_factory(*FAST, "name=ref", "descriptors.batch_size=2")
    make_pool(work_dir(ref_cfg))
    ref = by_uid(described(ref_cfg))

    cfg = cfg_factory(*FAST, "name=killed", "descriptors.batch_size=2")
    make_pool(work_dir(cfg))
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT.format(tests=str(TESTS), root=str(tmp_path)))
    env = {**os.environ, "GDO_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script), "0.3"], env=env)
    shard = shard_file(cfg)
    n_killed = kill_once_written(proc, shard, 4, timeout=120)
    assert 4 <= n_killed < len(ref), "the kill came too late to test anything"
    out = by_uid(described(cfg))
    pd.testing.assert_frame_equal(out, ref)
    assert len(read_shard(shard).rows) == len(ref)
    assert np.array_equal(out["uid"], ref["uid"])


@pytest.mark.parametrize("batch_size", [1, 4])
def test_workers_prefetch_and_frame_memory_give_the_same_rows_in_the_same_order(
    cfg_factory, batch_size
) -> None:
    shards = {}
    setups = [(0, 0, 64), (1, 1, 64), (2, 3, 64), (2, 1, 0), (0, 0, 0)]
    for workers, prefetch, cache in setups:
        cfg = cfg_factory(
            *FAST,
            f"name=w{workers}p{prefetch}c{cache}",
            f"descriptors.batch_size={batch_size}",
            f"descriptors.workers={workers}",
            f"descriptors.prefetch={prefetch}",
            f"descriptors.clip_cache_mb={cache}",
        )
        pool_with_videos(work_dir(cfg))
        shards[workers, prefetch, cache] = pd.DataFrame(
            read_shard(run(cfg, model=FramedVLM())).rows
        )
    ref = shards[0, 0, 64]
    # missing frame, too long, the three turns of the file that is no video
    assert (ref.status == "failed").sum() == 5
    assert ref.loc[ref.uid.str.startswith("video2"), "error"].str.startswith("MediaError").all()
    assert ref.loc[ref.uid == "video0", AMM].iloc[0] > 0.5
    media = [AMM, FRAME_DIV, "rgb_mean_r", "rgb_std_b"]
    turns = ref.loc[ref.uid.str.startswith("video0"), media]
    assert len(turns) == 3 and (turns.nunique() == 1).all()  # one clip, one set of values
    for setup, got in shards.items():
        pd.testing.assert_frame_equal(got, ref, obj=str(setup))


def test_workers_do_the_media_work_in_other_processes(cfg_factory, monkeypatch, tmp_path) -> None:
    import gdo.descriptors.motion as motion

    log = tmp_path / "pids.txt"
    real = motion.motion_stats

    def spy(*args, **kwargs):
        with open(log, "a") as fh:  # a worker's calls are not in this process's memory
            fh.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(motion, "motion_stats", spy)
    for workers in (0, 1):
        log.write_text("")
        cfg = cfg_factory(
            *FAST,
            f"name=t{workers}",
            f"descriptors.workers={workers}",
            "descriptors.worker_start=fork",
        )
        make_pool(work_dir(cfg), n=8, broken=False)
        run(cfg, model=FakeVLM())
        pids = {int(p) for p in log.read_text().split()}
        assert pids and (pids == {os.getpid()}) == (workers == 0), pids
