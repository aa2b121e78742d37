"""Perceptual hashes of images and video frames, and groups of near-duplicate media.

The hash is imagehash's ``phash``: grey, 32x32 (Lanczos), 2-d DCT-II, the 8x8 lowest
frequencies compared with their median -> 64 bits. A media's signature is the hashes of
``frames`` uniformly sampled frames plus their mean colours; two media of one kind are
near-duplicates when the mean Hamming distance of their frames is at most
``max_distance`` bits and their frames' mean colours differ by at most ``max_colour_diff``
(0-255; the hash alone is blind to colour: a red and a green square look alike to it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image
from scipy.fft import dct

from gdo.dedup.minhash import bucket_pairs, sorted_unique

log = logging.getLogger("gdo.dedup")
_BITS = np.uint64(1) << np.arange(64, dtype=np.uint64)


def phash(frames: np.ndarray) -> np.ndarray:
    """(T,) uint64 perceptual hashes of (T, H, W, 3) uint8 frames."""
    grey = np.stack(
        [
            np.asarray(
                Image.fromarray(f).convert("L").resize((32, 32), Image.Resampling.LANCZOS),
                dtype=np.float64,
            )
            for f in frames
        ]
    )
    low = dct(dct(grey, axis=1), axis=2)[:, :8, :8].reshape(len(grey), 64)
    bits = low > np.median(low, axis=1, keepdims=True)
    return (bits.astype(np.uint64) * _BITS).sum(axis=1, dtype=np.uint64)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distance of uint64 arrays (elementwise)."""
    x = np.ascontiguousarray(np.bitwise_xor(a, b), dtype=np.uint64)
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0: a popcount instruction
        return np.bitwise_count(x).astype(np.int64)
    per_byte = _POPCOUNT[x.reshape(-1).view(np.uint8)].reshape(-1, 8)
    return per_byte.sum(axis=1, dtype=np.int64).reshape(x.shape)


@dataclass
class MediaSignatures:
    """Per media: ``hashes`` (n, frames) uint64, mean ``colours`` (n, frames, 3), ``ok``."""

    hashes: np.ndarray
    colours: np.ndarray
    ok: np.ndarray


def media_signatures(
    kinds: Sequence[str], paths: Sequence[Sequence[str]], frames: int, max_pixels: int
) -> MediaSignatures:
    """Hashes and mean colours of ``frames`` frames per media, and which could be hashed.

    A video with fewer frames repeats its last frame; a media that fails to load is
    left out (``ok`` False) and never grouped.
    """
    from gdo.media import load_media

    sig = np.zeros((len(kinds), frames), dtype=np.uint64)
    col = np.zeros((len(kinds), frames, 3), dtype=np.float32)
    ok = np.zeros(len(kinds), dtype=bool)
    for i, (kind, media) in enumerate(zip(kinds, paths)):
        try:
            px = load_media(kind, list(media), n_frames=frames, max_pixels=max_pixels)
        except Exception as err:  # noqa: BLE001 - a broken file is not a duplicate of anything
            log.debug("near_dup: media %s not hashed: %s", list(media)[:1], err)
            continue
        if not len(px):
            continue
        px = px[:frames]
        h = phash(px)
        c = px.reshape(len(px), -1, 3).mean(axis=1)
        sig[i, : len(h)], sig[i, len(h) :] = h, h[-1]
        col[i, : len(c)], col[i, len(c) :] = c, c[-1]
        ok[i] = True
    return MediaSignatures(sig, col, ok)


def media_groups(
    ms: MediaSignatures, kind: np.ndarray, max_distance: float, max_colour_diff: float
) -> np.ndarray:
    """Group id per media: near-duplicate media share the id of the first of them.

    Candidates are media of one kind that agree exactly on a 16-bit quarter of a frame's
    hash (LSH over the hash bits); each is confirmed with the mean Hamming distance and
    the mean colour difference (largest channel, averaged over the frames).
    """
    sig, ok = ms.hashes, ms.ok
    n = len(sig)
    parent = np.arange(n)
    rows = np.flatnonzero(ok)
    if len(rows) < 2:
        return parent
    kcode = pd.factorize(kind[rows])[0].astype(np.uint64)
    found = []
    for f in range(sig.shape[1]):
        for q in range(4):
            part = (sig[rows, f] >> np.uint64(16 * q)) & np.uint64(0xFFFF)
            key = (kcode << np.uint64(40)) | (np.uint64(f * 4 + q) << np.uint64(16)) | part
            found.append(bucket_pairs(key))
    pairs = np.concatenate(found) if found else np.zeros((0, 2), np.int64)
    if not len(pairs):
        return parent
    flat = sorted_unique(pairs[:, 0] * np.int64(len(rows)) + pairs[:, 1])
    i, j = rows[flat // len(rows)], rows[flat % len(rows)]
    colour = np.abs(ms.colours[i] - ms.colours[j]).max(axis=2).mean(axis=1)
    close = (hamming(sig[i], sig[j]).mean(axis=1) <= max_distance) & (colour <= max_colour_diff)
    return first_of_components(n, i[close], j[close])


def first_of_components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Per node of the graph with edges (i, j): the smallest node of its connected component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    first = np.full(label.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    return first[label]
