"""MinHash signatures of character n-grams and LSH candidate pairs, vectorized in numpy.

A row's n-grams are read from one byte buffer of all rows (no per-row Python loop);
each of the ``num_perm`` hash functions is a multiply-shift hash of the n-gram's code.
LSH bands the signature: rows whose band agrees (inside one group) become candidate
pairs, which callers check with the exact Jaccard of their n-gram sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rows per chunk of the signature pass: bounds the temporaries (~8 bytes x n-grams).
_CHUNK = 1 << 17
# Buckets larger than this pair each member with the first and the next only (a chain),
# so one huge bucket cannot emit a quadratic number of pairs.
MAX_BUCKET = 256


@dataclass
class Grams:
    """Every row's n-gram codes, concatenated (row ``r`` is ``codes[start[r]:start[r+1]]``)."""

    codes: np.ndarray  # uint64
    start: np.ndarray  # int64, len = rows + 1

    def row(self, r: int) -> np.ndarray:
        return self.codes[self.start[r] : self.start[r + 1]]


def char_grams(texts: list[str], n: int) -> Grams:
    """The character n-grams (UTF-8 bytes) of each text; a text shorter than ``n`` is
    padded with spaces to one gram.

    A gram's code packs its bytes (exact for ``n <= 8``; longer grams fold the rest in
    with a multiply, so distinct grams rarely collide). Codes are computed for every
    position of one buffer of all texts, then the positions that would run into the
    next text are dropped: no per-row work.
    """
    enc = [t.encode() for t in texts]
    enc = [e if len(e) >= n else e.ljust(n) for e in enc]
    lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
    buf = np.frombuffer(b"".join(enc) + b"\0" * n, dtype=np.uint8)
    size = len(buf) - n
    codes = buf[:size].astype(np.uint64)
    for k in range(1, n):
        byte = buf[k : k + size].astype(np.uint64)
        if k < 8:
            codes |= byte << np.uint64(8 * k)
        else:
            codes = codes * np.uint64(0x100000001B3) ^ byte
    ends = np.cumsum(lens)
    valid = np.ones(size, dtype=bool)
    for k in range(1, n):
        valid[ends - k] = False  # grams that start in the last n - 1 bytes of a text
    start = np.zeros(len(enc) + 1, dtype=np.int64)
    np.cumsum(lens - n + 1, out=start[1:])
    return Grams(codes[valid], start)


def _hash_params(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint32)
    return a, b


def signatures(grams: Grams, num_perm: int, seed: int = 0) -> np.ndarray:
    """(rows, num_perm) uint32 MinHash signatures: the minimum of each hash over a row's grams.

    Each gram code is mixed once to 32 well-spread bits (a 64-bit multiply, high half);
    hash function ``p`` is then ``a_p * x + b_p`` mod 2**32 (odd ``a_p``: a permutation
    of the 32-bit values), in 32-bit arithmetic: half the memory traffic of 64-bit.
    """
    rows = len(grams.start) - 1
    a, b = _hash_params(num_perm, seed)
    sig = np.empty((rows, num_perm), dtype=np.uint32)
    mix = grams.codes * np.uint64(0x9E3779B97F4A7C15)
    mix ^= mix >> np.uint64(29)
    mix = (mix * np.uint64(0xBF58476D1CE4E5B9) >> np.uint64(32)).astype(np.uint32)
    h = np.empty_like(mix)
    for r0 in range(0, rows, _CHUNK):
        r1 = min(rows, r0 + _CHUNK)
        lo, hi = int(grams.start[r0]), int(grams.start[r1])
        x, out = mix[lo:hi], h[lo:hi]
        starts = grams.start[r0:r1] - lo
        for p in range(num_perm):
            np.multiply(x, a[p], out=out)
            out += b[p]
            sig[r0:r1, p] = np.minimum.reduceat(out, starts)
    return sig


def lsh_pairs(sig: np.ndarray, bands: int, group: np.ndarray) -> np.ndarray:
    """(k, 2) int64 candidate pairs ``i < j``: rows of one ``group`` that agree on a band."""
    rows, num_perm = sig.shape
    r = num_perm // bands
    weights = np.random.default_rng(1).integers(1, 2**63, size=r + 1, dtype=np.uint64) | 1
    found = []
    for band in range(bands):
        key = group.astype(np.uint64) * weights[r]
        for j in range(r):
            key = (
                key * np.uint64(0x100000001B3) + sig[:, band * r + j].astype(np.uint64) * weights[j]
            )
        found.append(bucket_pairs(key))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    if not len(pairs):
        return pairs
    flat = sorted_unique(pairs[:, 0] * np.int64(rows) + pairs[:, 1])
    return np.stack([flat // rows, flat % rows], axis=1)


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d array, sorted (a sort and a mask: faster than
    ``np.unique``'s hashing for millions of int64 pair codes, and than a 2-d unique)."""
    s = np.sort(a)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def bucket_pairs(key: np.ndarray) -> np.ndarray:
    """Pairs of rows with equal keys (all pairs in small buckets, a chain in large ones)."""
    order = np.argsort(key, kind="stable")
    k = key[order]
    same = k[1:] == k[:-1]
    if not same.any():
        return np.zeros((0, 2), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, ~same])
    sizes = np.diff(np.r_[starts, len(k)])
    out = []
    for size in np.flatnonzero(np.bincount(sizes[sizes > 1])):
        firsts = starts[sizes == size]
        members = order[firsts[:, None] + np.arange(size)]  # (buckets, size), ascending rows
        members.sort(axis=1)
        if size <= MAX_BUCKET:
            i, j = np.triu_indices(size, 1)
        else:
            i = np.r_[np.zeros(size - 1, dtype=np.int64), np.arange(1, size - 1)]
            j = np.r_[np.arange(1, size), np.arange(2, size)]
        out.append(np.stack([members[:, i].ravel(), members[:, j].ravel()], axis=1))
    return np.concatenate(out).astype(np.int64)


def similar_pairs(
    grams: Grams, sig: np.ndarray, pairs: np.ndarray, threshold: float, margin: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs whose Jaccard is at least ``threshold``, with their similarity.

    The signature's estimate decides pairs far from the threshold (more than ``margin``
    away: > 4 standard errors at 64 permutations); the rest get their exact Jaccard.
    """
    if not len(pairs):
        return pairs, np.zeros(0)
    est = (sig[pairs[:, 0]] == sig[pairs[:, 1]]).mean(axis=1)
    sim = est.copy()
    near = np.abs(est - threshold) <= margin
    sim[near] = jaccard(grams, pairs[near])
    hit = sim >= threshold
    return pairs[hit], sim[hit]


def jaccard(grams: Grams, pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of the n-gram sets of each pair's rows."""
    sets: dict[int, set[int]] = {}

    def of(r: int) -> set[int]:
        s = sets.get(r)
        if s is None:
            s = sets[r] = set(grams.row(r).tolist())
        return s

    out = np.empty(len(pairs), dtype=np.float64)
    for k, (i, j) in enumerate(pairs.tolist()):
        a, b = of(i), of(j)
        out[k] = len(a & b) / len(a | b)
    return out
