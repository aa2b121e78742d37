"""Describe at scale: media work once per clip, shards by clip, a rank reads its rows only."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from test_descriptors_helpers import FAST, FramedVLM, make_pool, pool_with_videos

from gdo.descriptors.clips import ClipPlan, frames_window, media_key, media_keys, shard_key
from gdo.descriptors.context import BatchContext
from gdo.descriptors.reader import read_rank
from gdo.descriptors.shards import read_shard, shard_of
from gdo.descriptors.stage import POOL_FIELDS, run
from gdo.utils.stage import work_dir


def test_media_key_and_shard_key_name_the_clip() -> None:
    row = {"media_kind": "video", "media": np.array(["/v/a.mp4"]), "n_frames": np.int64(13)}
    assert media_key(row) == ("video", ("/v/a.mp4",), 13)
    assert media_key({**row, "question": "another turn"}) == media_key(row)
    assert media_key({**row, "n_frames": 9}) != media_key(row)  # another sampling
    assert media_key({"media_kind": "none", "media": []}) is None
    assert media_key({"media_kind": "image", "media": []}) is None
    table = pd.DataFrame([row, {"media_kind": "none", "media": [], "n_frames": -1}])
    assert media_keys(table) == [media_key(row), None]
    assert shard_key("u1", "/v/a.mp4", ["/v/a.mp4"]) == "/v/a.mp4"
    assert shard_key("u1", "", ["/i/a.png", "/i/b.png"]) == "/i/a.png\n/i/b.png"
    assert shard_key("0123456789abcdef", "", []) == "0123456789abcdef"  # text-only: by uid


def test_frames_window_keeps_memory_within_the_budget() -> None:
    # 4 frames of 32x32 px: 12 KiB a clip, 384 KiB a batch of 32.
    assert frames_window(1, 32, 4, 1024) == 1  # two batches' clips fit in 1 MiB
    assert frames_window(1024, 32, 4, 1024) == 2729
    assert frames_window(1024, 4, 32, 50176) == 54  # Qwen at 224x224: 18.4 MiB a batch of 4
    assert frames_window(0, 32, 4, 1024) == 0
    assert frames_window(1024, 32, None, None) == 0  # the model loads its own media


def test_clip_plan_computes_once_and_keeps_frames_within_the_window() -> None:
    keys = [["a", "b", None], ["c"], ["a", "a"], ["d"], ["d"], ["a"]]
    plan = ClipPlan.build(keys, window=1)
    assert plan.values_at == [{"a", "b"}, {"c"}, set(), {"d"}, set(), set()]
    # a comes back after 2 and 3 batches (> window): decoded again each time; d after 1.
    assert plan.decode_at == [{"a", "b"}, {"c"}, {"a"}, {"d"}, set(), {"a"}]
    assert [sorted(k) for k in plan.drop_frames_after] == [
        ["a", "b"],
        ["c"],
        ["a"],
        [],
        ["d"],
        ["a"],
    ]
    assert [sorted(k) for k in plan.drop_values_after] == [["b"], ["c"], [], [], ["d"], ["a"]]
    assert plan.counts() == {"clips": 4, "decodes": 6}
    wide = ClipPlan.build(keys, window=16)
    assert wide.counts() == {"clips": 4, "decodes": 4}
    with pytest.raises(ValueError, match="window"):
        ClipPlan.build(keys, window=-1)


def test_rows_of_one_clip_share_one_load_in_a_batch() -> None:
    loads = []

    def loader(kind, paths, n, max_pixels):
        loads.append((tuple(paths), n, max_pixels))
        return np.full((n, 4, 4, 3), len(loads), np.uint8)

    clip = {"media_kind": "frames", "media": ["/f/0.png", "/f/1.png"], "n_frames": 2}
    rows = [
        {"uid": "t0", **clip},
        {"uid": "x", **clip, "media": ["/g/0.png"]},
        {"uid": "t1", **clip},
    ]
    ctx = BatchContext(rows, FramedVLM(), max_frames=8, load_media=loader)
    assert ctx.frames(2) is ctx.frames(0) and ctx.frames(1) is not ctx.frames(0)
    assert ctx.model_frames(2) is ctx.model_frames(0)
    assert sorted(loads) == [(("/f/0.png", "/f/1.png"), 2, None), (("/f/0.png", "/f/1.png"), 4, 256),
                             (("/g/0.png",), 2, None)]  # fmt: skip


def test_media_work_is_done_once_per_clip(cfg_factory, monkeypatch) -> None:
    """Counted calls: each clip is decoded once and its optical flow and RGB statistics
    computed once, however many QA turns it has and however many batches they fall in;
    with ``clip_cache_mb=0`` a clip's model frames are loaded again in each later batch."""
    import gdo.descriptors.coverage as coverage
    import gdo.descriptors.motion as motion
    import gdo.media.video as video

    calls: Counter = Counter()

    def spy(module, name):
        real = getattr(module, name)

        def counted(*args, **kwargs):
            frames = args[0]
            tag = str(frames) if isinstance(frames, str) else getattr(frames, "shape", None)
            calls[name, tag] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    for module, name in ((video, "load_video_sets"), (motion, "motion_stats"),
                         (coverage, "rgb_stats")):  # fmt: skip
        spy(module, name)
    counts = {}
    for cache in (64, 0):
        calls.clear()
        cfg = cfg_factory(
            *FAST, f"name=c{cache}", "descriptors.batch_size=2", "descriptors.workers=0",
            f"descriptors.clip_cache_mb={cache}",
        )  # fmt: skip
        pool = pool_with_videos(work_dir(cfg))
        rows = pd.DataFrame(read_shard(run(cfg, model=FramedVLM())).rows)
        counts[cache] = dict(calls)
        assert len(rows) == len(pool)
    turns = pool[pool.media_kind == "video"].groupby("video_id").size()
    assert sorted(turns) == [1, 3, 3]
    decoded = {k[1]: n for k, n in counts[64].items() if k[0] == "load_video_sets"}
    assert decoded == {v: 1 for v in turns.index}  # one decode per clip, the broken one too
    # Optical flow and RGB statistics once per clip that has frames: the frame clips (one
    # with two turns) and the two readable videos.
    clips = {
        media_key(r) for r in pool.to_dict("records") if r["media_kind"] in ("frames", "video")
    }
    readable = len(clips) - 2  # the missing frame and the file that is no video
    assert sum(n for k, n in counts[64].items() if k[0] == "motion_stats" and k[1]) == readable
    assert sum(n for k, n in counts[64].items() if k[0] == "rgb_stats" and k[1]) == readable + sum(
        pool.media_kind == "image"
    )
    # Without memory for frames, video0's later turns (other batches) load its frames again; its
    # flow is still computed once.
    video0 = turns.index[turns.index.str.endswith("video0.mp4")][0]
    assert counts[0]["load_video_sets", video0] == 3
    assert sum(n for k, n in counts[0].items() if k[0] == "motion_stats" and k[1]) == readable


def test_a_rank_reads_its_clips_rows_and_only_the_columns_it_needs(tmp_path, monkeypatch) -> None:
    import pyarrow.parquet as pq

    pool = pool_with_videos(tmp_path / "work")
    path = tmp_path / "work" / "pool" / "pool.parquet"
    asked = []
    real = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        asked.append(kwargs.get("columns"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    one = read_rank(path, 0, 1, POOL_FIELDS, batch_rows=5)
    pd.testing.assert_frame_equal(one, pd.read_parquet(path)[list(POOL_FIELDS)])
    assert set(asked[0]) == {*POOL_FIELDS, "video_id"}  # not file, record, source, ...
    clip = {u: shard_key(u, v, m) for u, v, m in zip(pool.uid, pool.video_id, pool.media)}
    seen = []
    for rank in range(3):
        mine = read_rank(path, rank, 3, POOL_FIELDS, batch_rows=5)
        assert list(mine.columns) == list(POOL_FIELDS)
        assert all(shard_of(clip[u], 3) == rank for u in mine.uid)
        # the file's order, the file's values
        expected = pool[pool.uid.isin(mine.uid)][list(POOL_FIELDS)].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), expected)
        seen += list(mine.uid)
    assert sorted(seen) == sorted(pool.uid)


def test_read_rank_of_a_pool_without_video_ids(tmp_path) -> None:
    pool = make_pool(tmp_path / "work", n=12, broken=False).drop(columns=["video_id"])
    path = tmp_path / "work" / "pool" / "pool.parquet"
    pool.to_parquet(path, index=False)
    got = pd.concat([read_rank(path, r, 2, ["uid", "media"]) for r in (0, 1)])
    assert sorted(got.uid) == sorted(pool.uid) and list(got.columns) == ["uid", "media"]


def test_clip_keys_in_arrow_equal_shard_key() -> None:
    import pyarrow as pa

    from gdo.descriptors.reader import clip_keys

    rows = [
        ("u1", "/v/a.mp4", ["/v/a.mp4"]),
        ("u2", "", ["/i/a.png", "/i/b.png"]),
        ("u3", "", []),
        ("u4", None, None),
        ("u5", "", [""]),
        ("u6", "clip7", ["/f/0.png"]),
    ]
    batch = pa.RecordBatch.from_pydict(
        {
            "uid": [r[0] for r in rows],
            "video_id": [r[1] for r in rows],
            "media": [r[2] for r in rows],
        }
    )
    assert clip_keys(batch).to_pylist() == [shard_key(*r) for r in rows]
    no_video = batch.drop_columns(["video_id"])
    assert clip_keys(no_video).to_pylist() == [shard_key(u, "", m) for u, _, m in rows]
