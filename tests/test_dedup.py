"""Near-duplicate removal (gdo.dedup): QA text, MinHash LSH, perceptual hashes, the pool step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gdo.dedup.config import NearDupConf, check_near_dup
from gdo.dedup.minhash import char_grams, jaccard, lsh_pairs, signatures
from gdo.dedup.near_dup import find_near_duplicates
from gdo.dedup.phash import hamming, phash
from gdo.dedup.text import qa_texts, question_stem
from gdo.pool.schema import candidates_frame, make_uid
from gdo.utils.errors import ConfigError

STOP = NearDupConf().qa.stopwords


def scene(path: Path, seed: int, size: int = 96) -> Path:
    """A structured picture (gradient + rectangles): perceptual hashes need structure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    img = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], axis=-1)
    for _ in range(4):
        x0, y0 = rng.integers(0, size - 24, 2)
        img[y0 : y0 + 20, x0 : x0 + 20] = rng.integers(0, 256, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img.astype(np.uint8)).save(path)
    return path


def rows(items: list[tuple[str, str, str, list[str]]]) -> pd.DataFrame:
    """Candidate rows from (media path, question, answer, options) in pool order."""
    cols: dict[str, list] = {c: [] for c in ("uid", "sample_id", "turn", "source", "file")}
    extra: dict[str, list] = {
        k: []
        for k in ("record", "bucket", "media_kind", "media", "video_id", "duration_s")
        + ("n_frames", "question", "answer", "is_mcq", "options", "answer_letter")
    }
    for i, (media, q, a, opts) in enumerate(items):
        cols["uid"].append(make_uid("t", f"s{i}", 0))
        cols["sample_id"].append(f"s{i}")
        cols["turn"].append(0)
        cols["source"].append("t")
        cols["file"].append("pool.json")
        letter = a[0] if opts else ""
        for k, v in {
            "record": i,
            "bucket": "image",
            "media_kind": "image" if media else "none",
            "media": [media] if media else [],
            "video_id": "",
            "duration_s": float("nan"),
            "n_frames": 1,
            "question": q + ("".join(f"\n{chr(65 + j)}. {o}" for j, o in enumerate(opts))),
            "answer": a,
            "is_mcq": bool(opts),
            "options": opts,
            "answer_letter": letter,
        }.items():
            extra[k].append(v)
    return candidates_frame({**cols, **extra})


def test_mcq_text_drops_options_and_reads_the_answer_option() -> None:
    q1 = "what colour is the cube?\nOptions:\nA. red\nB. blue\nAnswer with the letter."
    q2 = "What colour is the cube?\nA. blue\nB. red\nAnswer with the letter."
    assert question_stem(q1) == "what colour is the cube?"
    a = qa_texts([q1, q2], ["B.", "A"], [["red", "blue"], ["blue", "red"]], ["B", "A"], STOP)
    assert a[0][0] == a[0][1] == "colour cube" and a[1] == ["blue", "blue"]


def test_minhash_estimates_jaccard_and_lsh_stays_inside_groups() -> None:
    texts = [
        "what colour is the big cube on the left | red",
        "what colour is the big cube at the left | red",
        "how many people are walking on the street | three",
        "what colour is the big cube on the left | red",  # same text, other group
    ]
    grams = char_grams(texts, 3)
    sig = signatures(grams, 128)
    exact = jaccard(grams, np.array([[0, 1], [0, 2]]))
    est = [(sig[0] == sig[1]).mean(), (sig[0] == sig[2]).mean()]
    assert exact[0] > 0.7 and exact[1] < 0.2
    assert abs(est[0] - exact[0]) < 0.12 and abs(est[1] - exact[1]) < 0.12
    pairs = lsh_pairs(sig, 32, np.array([0, 0, 0, 1]))
    assert [0, 1] in pairs.tolist()
    assert not any(3 in p for p in pairs.tolist())  # group 1 never pairs with group 0


def test_char_grams_of_short_and_empty_texts() -> None:
    grams = char_grams(["ab", "", "abcd", "ab", "bcd"], 3)
    assert [len(grams.row(r)) for r in range(5)] == [1, 1, 2, 1, 1]
    assert grams.row(0)[0] == grams.row(3)[0] != grams.row(2)[0]
    assert grams.row(2)[1] == grams.row(4)[0]  # "bcd" inside "abcd", not "cd" + next text
    assert grams.row(2)[0] == ord("a") | ord("b") << 8 | ord("c") << 16


def test_phash_matches_a_resaved_copy_not_another_picture(tmp_path) -> None:
    a = np.asarray(Image.open(scene(tmp_path / "a.png", 0)).convert("RGB"))
    b_img = Image.fromarray(a).resize((80, 80)).resize((96, 96))
    b_img.save(tmp_path / "b.jpg", quality=85)
    b = np.asarray(Image.open(tmp_path / "b.jpg").convert("RGB"))
    c = np.asarray(Image.open(scene(tmp_path / "c.png", 7)).convert("RGB"))
    h = phash(np.stack([a, b, c]))
    assert hamming(h[0], h[1]) <= 2
    assert hamming(h[0], h[2]) > 10


def test_near_duplicates_keep_the_first_and_name_the_reason(tmp_path) -> None:
    img = str(scene(tmp_path / "img.png", 0))
    other = str(scene(tmp_path / "other.png", 3))
    # A resized, re-encoded copy of img: a near-duplicate media.
    Image.open(img).resize((90, 90)).save(tmp_path / "copy.jpg", quality=90)
    copy = str(tmp_path / "copy.jpg")
    df = rows(
        [
            (img, "What colour is the big cube on the left?", "red", []),  # 0 kept
            (img, "what colour is the big cube on the left side", "red", []),  # 1 near-dup of 0
            (img, "How many people are walking?", "three", []),  # 2 kept: another question
            (other, "What colour is the big cube on the left?", "red", []),  # 3 kept: other image
            (copy, "what colour is the big cube on the left?", "red", []),  # 4 media near-dup of 0
            (img, "What colour is the big cube on the left?", "A.", ["red", "blue"]),  # 5 MC: kept
            (img, "what colour is the cube on the left?", "B", ["blue", "red"]),  # 6: dup of 5
            ("", "Name the capital of France.", "Paris", []),  # 7 text-only, kept
            ("", "name the capital city of france", "paris", []),  # 8 text-only near-dup of 7
        ]
    )
    on = NearDupConf()
    on.media.enabled = True  # off by default
    found = find_near_duplicates(df, on)
    # The open-ended and multiple-choice forms of one question both stay (5 vs 0).
    assert found.keep.tolist() == [True, False, True, True, False, True, False, True, False]
    removed = found.removed.set_index("uid")
    uid = df["uid"].tolist()
    assert removed.loc[uid[1], "kept_uid"] == uid[0]
    assert removed.loc[uid[1], "reason"] == "near_duplicate_qa"
    assert removed.loc[uid[4], "reason"] == "near_duplicate_media"
    assert removed.loc[uid[4], "kept_uid"] == uid[0]
    assert removed.loc[uid[6], "kept_uid"] == uid[5]
    assert removed.loc[uid[8], "kept_uid"] == uid[7]
    assert found.counts["near_duplicate_media"] == 1 and found.counts["near_duplicate_qa"] == 3

    conf = NearDupConf()  # without media hashing (the default) the copy is another media
    assert find_near_duplicates(df, conf).keep.tolist()[4]
    conf.media.enabled = True
    conf.qa.threshold = 1.0  # only identical normalized texts: the copy's row 4
    keep = find_near_duplicates(df, conf).keep.tolist()
    assert keep == [True, True, True, True, False, True, True, True, True]
    conf.enabled = False
    assert find_near_duplicates(df, conf).keep.all()


def test_check_refuses_bands_that_do_not_divide_the_signature() -> None:
    conf = NearDupConf()
    conf.qa.bands = 5
    with pytest.raises(ConfigError, match="multiple of pool.near_dup.qa.bands=5"):
        check_near_dup(conf)
    conf.qa.bands, conf.qa.threshold = 16, 0
    with pytest.raises(ConfigError, match="pool.near_dup.qa.threshold=0"):
        check_near_dup(conf)


def test_pool_stage_counts_and_writes_what_it_removed(cfg_factory, tmp_path) -> None:
    from gdo.pool.config import PoolFileConf
    from gdo.pool.stage import run
    from gdo.utils.manifest import read_manifest

    img = scene(tmp_path / "media" / "img.png", 0)
    turns = [
        ("What colour is the big cube on the left?", "red"),
        ("what colour is the big cube on the left side", "red"),
        ("How many people are walking?", "three"),
    ]
    conv = []
    for q, a in turns:
        conv += [{"from": "human", "value": f"<image>\n{q}"}, {"from": "gpt", "value": a}]
    pool_file = tmp_path / "pool.json"
    pool_file.write_text(json.dumps([{"id": "r0", "image": img.name, "conversations": conv}]))
    cfg = cfg_factory()
    cfg.pool.files = [PoolFileConf(path=str(pool_file), media_root=str(img.parent))]
    out = run(cfg)
    m = read_manifest(out.parent)
    assert m["counts"]["dropped"] == {"near_duplicate_qa": 1}
    assert m["report"]["near_dup"]["counts"]["qa_similar_pairs"] == 1
    removed = pd.read_parquet(out.parent / "near_duplicates.parquet")
    assert removed["reason"].tolist() == ["near_duplicate_qa"]
    assert len(pd.read_parquet(out)) == 2

    cfg.pool.near_dup.enabled = False
    run(cfg)
    assert len(pd.read_parquet(out)) == 3 and not (out.parent / "near_duplicates.parquet").exists()


def test_same_short_question_with_another_answer_is_a_conflict_long_answers_are_not(
    tmp_path,
) -> None:
    img = str(scene(tmp_path / "img.png", 0))
    long_a = "a man walks his dog along the beach at sunset while waves roll in"
    long_b = "two children build a sand castle next to a red bucket and a yellow spade"
    df = rows(
        [
            (img, "What colour is the cube at the end?", "red", []),  # 0 kept
            (img, "At the end, what colour is the cube?", "blue", []),  # 1 conflict: removed
            (img, "Describe the video in detail.", long_a, []),  # 2 kept
            (img, "Describe the video in detail.", long_b, []),  # 3 kept: another caption
        ]
    )
    found = find_near_duplicates(df, NearDupConf())
    assert found.keep.tolist() == [True, False, True, True]
    assert found.removed["conflict"].tolist() == [True]
    assert found.counts["conflicting_answers"] == 1
    conf = NearDupConf()
    conf.qa.threshold = 0.9  # stem | answer differ in the answer: below 0.9
    assert find_near_duplicates(df, conf).keep.tolist() == [True, False, True, True]
    conf.qa.short_answer_words = 0  # and without the conflict rule both stay
    assert find_near_duplicates(df, conf).keep.all()


def test_hamming_counts_differing_bits() -> None:
    a = np.array([0, 0xFF, 2**63, 2**64 - 1], dtype=np.uint64)
    b = np.array([0, 0x0F, 0, 0], dtype=np.uint64)
    assert hamming(a, b).tolist() == [0, 4, 1, 64]
    assert hamming(a.reshape(2, 2), b.reshape(2, 2)).tolist() == [[0, 4], [1, 64]]
