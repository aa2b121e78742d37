"""Find and remove near-duplicate candidates (the pool post-step ``pool.near_dup``).

1. Media: every distinct media (a video, an image, a frame list) gets a perceptual
   signature; near-duplicate media (the same clip saved twice) join one media group
   (:mod:`gdo.dedup.phash`). Text-only candidates form one group of their own.
2. QA pairs: inside each media group and format (open-ended / multiple choice), MinHash LSH over character n-grams of the
   normalized question stem + answer text proposes pairs; a pair whose Jaccard is at
   least ``qa.threshold`` is a near-duplicate (:mod:`gdo.dedup.minhash`). Pairs with short
   answers (``qa.short_answer_words``) whose stems alone reach ``qa.question_threshold``
   are near-duplicates too, whatever their answers (``conflict`` when they differ).
3. Keep rule: candidates are walked in pool (file) order and one is removed when it is a
   near-duplicate of an earlier candidate that was kept, so the first of a group stays.
   Reason ``near_duplicate_qa`` when both share the media, ``near_duplicate_media`` when
   the kept one sits on a near-duplicate copy of it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gdo.dedup.config import NearDupConf
from gdo.dedup.minhash import char_grams, lsh_pairs, signatures, similar_pairs
from gdo.dedup.phash import MediaSignatures, media_groups, media_signatures
from gdo.dedup.text import qa_texts

log = logging.getLogger("gdo.dedup")
REASONS = ("near_duplicate_qa", "near_duplicate_media")
# Columns of pool/near_duplicates.parquet: one row per removed candidate.
REMOVED_COLUMNS = ("uid", "kept_uid", "reason", "similarity", "conflict")


@dataclass
class NearDupResult:
    """Which rows stay, and for each removed row the kept row it duplicates."""

    keep: np.ndarray  # bool per input row
    removed: pd.DataFrame  # REMOVED_COLUMNS
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def media_keys(df: pd.DataFrame) -> list[str]:
    """A candidate's media identity: its ``video_id``, else its joined media paths."""
    return [
        vid if vid else "|".join(map(str, m)) if m is not None and len(m) else ""
        for vid, m in zip(df["video_id"].tolist(), df["media"].tolist())
    ]


def find_near_duplicates(df: pd.DataFrame, conf: NearDupConf) -> NearDupResult:
    """Near-duplicates of ``df`` (pool rows in file order) under ``conf``."""
    n = len(df)
    keep = np.ones(n, dtype=bool)
    result = NearDupResult(keep, pd.DataFrame({c: [] for c in REMOVED_COLUMNS}))
    if n == 0 or not conf.enabled:
        return result
    t0 = time.perf_counter()
    keys = media_keys(df)
    codes, uniq = pd.factorize(pd.Series(keys, dtype=object))
    first = pd.Series(np.arange(n)).groupby(codes).first().to_numpy()
    kinds = df["media_kind"].astype(str).to_numpy()[first]
    group_of_media = np.arange(len(uniq))
    mconf = conf.media
    if mconf.enabled:
        has_media = kinds != "none"
        frames = int(mconf.frames)
        ms = MediaSignatures(
            np.zeros((len(uniq), frames), dtype=np.uint64),
            np.zeros((len(uniq), frames, 3), dtype=np.float32),
            np.zeros(len(uniq), dtype=bool),
        )
        idx = np.flatnonzero(has_media)
        media = df["media"].tolist()
        got = media_signatures(
            kinds[idx].tolist(),
            [media[first[i]] for i in idx],
            frames,
            int(mconf.max_pixels),
        )
        ms.hashes[idx], ms.colours[idx], ms.ok[idx] = got.hashes, got.colours, got.ok
        group_of_media = media_groups(
            ms,
            kinds,
            float(mconf.max_distance),
            float(mconf.max_colour_diff),
        )
        ok = ms.ok
        result.counts["media_hashed"] = int(ok.sum())
        result.counts["media_unhashed"] = int(has_media.sum() - ok.sum())
        result.counts["media_groups_merged"] = int((group_of_media != np.arange(len(uniq))).sum())
    result.seconds["media"] = round(time.perf_counter() - t0, 3)
    # Text-only candidates share one group: their QA pairs are compared among themselves.
    none = kinds == "none"
    group_of_media = np.where(none, -1, group_of_media)
    # An open-ended and a multiple-choice form of one question are kept both: they train
    # different answers (text vs a letter), as LLaVA-Video-178K's oe / mc files intend.
    group = group_of_media[codes] * 2 + df["is_mcq"].to_numpy(dtype=np.int64)

    qconf = conf.qa
    if not qconf.enabled:
        return result
    t1 = time.perf_counter()
    stems, answers = qa_texts(
        df["question"].tolist(),
        df["answer"].tolist(),
        df["options"].tolist(),
        df["answer_letter"].tolist(),
        list(qconf.stopwords),
    )
    ngram, num_perm, bands = int(qconf.ngram), int(qconf.num_perm), int(qconf.bands)
    texts = [f"{q} | {a}" for q, a in zip(stems, answers)]
    pairs, sim, n_cand = _similar(texts, group, ngram, num_perm, bands, float(qconf.threshold))
    short = int(qconf.short_answer_words)
    if short > 0:
        rows = np.flatnonzero([len(a.split()) <= short for a in answers])
        p2, s2, c2 = _similar(
            [stems[r] for r in rows],
            group[rows],
            ngram,
            num_perm,
            bands,
            float(qconf.question_threshold),
        )
        pairs, sim, n_cand = (
            np.concatenate([pairs, rows[p2]]),
            np.concatenate([sim, s2]),
            n_cand + c2,
        )
    result.counts["qa_candidate_pairs"] = int(n_cand)
    result.counts["qa_similar_pairs"] = int(len(pairs))
    kept_by, best = _greedy(n, pairs, sim)
    removed = np.flatnonzero(kept_by >= 0)
    keep[removed] = False
    kept = kept_by[removed]
    same_media = codes[removed] == codes[kept]
    uids = df["uid"].astype(str).to_numpy()
    result.removed = pd.DataFrame(
        {
            "uid": uids[removed],
            "kept_uid": uids[kept],
            "reason": np.where(same_media, REASONS[0], REASONS[1]),
            "similarity": best[removed].astype(np.float32),
            "conflict": np.array(
                [answers[i] != answers[j] for i, j in zip(removed, kept)], dtype=bool
            ),
        }
    )
    result.counts["conflicting_answers"] = int(result.removed["conflict"].sum())
    for reason in REASONS:
        result.counts[reason] = int((result.removed["reason"] == reason).sum())
    result.seconds["qa"] = round(time.perf_counter() - t1, 3)
    log.info("near_dup: %s (%s s)", result.counts, result.seconds)
    return result


def _similar(
    texts: list[str], group: np.ndarray, ngram: int, num_perm: int, bands: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """(pairs i < j, similarity, number of LSH candidates) of ``texts`` within ``group``."""
    if not texts:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0), 0
    grams = char_grams(texts, ngram)
    sig = signatures(grams, num_perm)
    candidates = lsh_pairs(sig, bands, group)
    pairs, sim = similar_pairs(grams, sig, candidates, threshold)
    return pairs, sim, len(candidates)


def _greedy(n: int, pairs: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walk rows in order; a row similar to an earlier kept row is removed (kept_by = it)."""
    kept_by = np.full(n, -1, dtype=np.int64)
    best = np.zeros(n, dtype=np.float64)
    order = np.lexsort((pairs[:, 0], pairs[:, 1])) if len(pairs) else []
    removed = np.zeros(n, dtype=bool)
    for k in order:
        i, j = int(pairs[k, 0]), int(pairs[k, 1])
        if removed[j] or removed[i]:
            continue
        removed[j] = True
        kept_by[j], best[j] = i, sim[k]
    return kept_by, best
