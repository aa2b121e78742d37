"""Schema of ``pool.near_dup`` (near-duplicate removal, a pool post-step). Owned by gdo.dedup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdo.utils.checks import check_range


@dataclass
class QaDupConf:
    """Near-duplicate QA pairs on the same media (or on near-duplicate media)."""

    enabled: bool = True
    # Jaccard similarity of the two QA pairs' shingle sets (stem | answer) at or above
    # which the later one is a near-duplicate of the earlier one.
    threshold: float = 0.65
    # Short answers (at most this many words, both): the same question (stem Jaccard >=
    # question_threshold) on the same media is one sample even when the answers differ,
    # since one of them is then wrong (a conflict, flagged in near_duplicates.parquet).
    # Long answers (captions) to one question are distinct samples. 0: no such rule.
    short_answer_words: int = 3
    question_threshold: float = 0.9
    # Character n-grams of the normalized text (question stem + answer text).
    ngram: int = 3
    # MinHash signature length and LSH bands (num_perm % bands == 0): a pair at the
    # threshold becomes an LSH candidate with probability 1 - (1 - J^r)^b, r = num_perm / b
    # (0.987 at J = 0.7 with 64 / 16); candidates are then checked with their exact Jaccard.
    num_perm: int = 64
    bands: int = 16
    # Function words left out of the shingles (they make unrelated short questions alike).
    stopwords: list[str] = field(
        default_factory=lambda: (
            "a an the is are was were be been of to in on at by for with and or what which "
            "who whom whose how does do did can could you there that this it its have has had"
        ).split()
    )


@dataclass
class MediaDupConf:
    """Near-duplicate media (the same clip or image saved twice): perceptual hashes.

    Off by default: it decodes every distinct media once (the bulk of the step's cost:
    hours for 100k+ real videos on few cores), and on media of little visual variety
    (the demo world: two shapes, eight colours on a 32x32 canvas) distinct clips collide.
    Turn it on for pools that hold one image or clip under several sources
    (``pool.near_dup.media.enabled=true``).
    """

    enabled: bool = False
    # Frames hashed per video (uniformly sampled); images hash their one frame.
    frames: int = 4
    # Two media are one when the mean Hamming distance of their frames' 64-bit
    # perceptual hashes (DCT, as imagehash.phash) is at most this many bits.
    max_distance: float = 2.0
    # ... and their frames' mean colours differ by at most this much (0-255, largest
    # channel): the hash is computed on grey levels and cannot tell colours apart.
    max_colour_diff: float = 3.0
    # Pixels a frame is decoded at (before the 32x32 hash resize): small keeps decode cheap.
    max_pixels: int = 128 * 128


@dataclass
class NearDupConf:
    """Near-duplicate removal after the pool's exact dedup and before the per-video cap.

    Rule: the pool is walked in file order; a candidate is removed when it is a
    near-duplicate of an earlier candidate that was kept (so the first of a group stays).
    """

    enabled: bool = True
    qa: QaDupConf = field(default_factory=QaDupConf)
    media: MediaDupConf = field(default_factory=MediaDupConf)


def check_near_dup(conf: Any) -> None:
    """Refuse ``pool.near_dup.*`` values outside their range (:class:`ConfigError`)."""
    check_range("pool.near_dup.qa.threshold", conf.qa.threshold, 0, 1, lo_open=True)
    check_range("pool.near_dup.qa.ngram", conf.qa.ngram, 1)
    check_range("pool.near_dup.qa.short_answer_words", conf.qa.short_answer_words, 0)
    check_range(
        "pool.near_dup.qa.question_threshold", conf.qa.question_threshold, 0, 1, lo_open=True
    )
    check_range("pool.near_dup.qa.num_perm", conf.qa.num_perm, 1)
    check_range("pool.near_dup.qa.bands", conf.qa.bands, 1)
    if int(conf.qa.num_perm) % int(conf.qa.bands):
        from gdo.utils.errors import ConfigError

        raise ConfigError(
            f"pool.near_dup.qa.num_perm={conf.qa.num_perm} is not a multiple of "
            f"pool.near_dup.qa.bands={conf.qa.bands}"
        )
    check_range("pool.near_dup.media.frames", conf.media.frames, 1)
    check_range("pool.near_dup.media.max_distance", conf.media.max_distance, 0, 64)
    check_range("pool.near_dup.media.max_colour_diff", conf.media.max_colour_diff, 0, 255)
    check_range("pool.near_dup.media.max_pixels", conf.media.max_pixels, 1024)
