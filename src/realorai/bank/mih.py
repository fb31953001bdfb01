"""Exact radius search to distance 31 by multi-index hashing (Norouzi et al.), for big banks.

A brute-force scan compares a query with every banked hash: ~10 ms for 8 hashes over 10^6 on 2
cores even with faiss. Split each 256-bit hash into m chunks of b bits: two hashes at most 31 bits
apart differ by at most t bits in at least one chunk when m x (t + 1) > 31 (the pigeonhole
principle; bits outside the chunks only lower the chunks' share). So each query chunk probes its
neighbours within t bits, and only the entries found there (about m x probes x n / 2^b of them)
are compared in full: the result is exactly the scan's, at a fraction of its cost. Each probe is
one read of a table of offsets (2^b + 1 a chunk): no binary search.

Two layouts, by the bank's size (``layout``):

* 16 chunks of 16 bits, t = 1 (17 probes a chunk; tables of 4 MB in all): up to 2^21 hashes;
* 11 chunks of 23 bits, t = 2 (277 probes a chunk; tables of 370 MB): from 2^21 hashes, where the
  first layout compares 4.1 candidates per 1,000 banked hashes and took 15.6 ms (p50) a lookup at
  10^7 on 2 cores; this one compares 0.36 per 1,000 (2.2 ms there).

Beyond 31 the probes multiply, so wider radii scan (``match.Index``).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

EXACT_TO = 31  # the radius both layouts are exact for
BIG_FROM = 1 << 21  # hashes from which the 23-bit layout (370 MB of tables) is used


def layout(n: int) -> tuple[int, int, int]:
    """(chunks, bits a chunk, bits a probe may flip) for a bank of ``n`` hashes."""
    return (11, 23, 2) if n >= BIG_FROM else (16, 16, 1)


def masks(bits: int, flips: int) -> np.ndarray:
    """Every value of ``bits`` bits with at most ``flips`` bits set: a chunk's probes."""
    out = [0]
    for k in range(1, flips + 1):
        out += [sum(1 << b for b in combo) for combo in combinations(range(bits), k)]
    return np.array(out, dtype=np.uint32)


def chunk_values(hashes: np.ndarray, bits: int, chunks) -> np.ndarray:
    """(n, len(chunks)) uint32: each hash's chunks of ``bits`` bits, most significant bits first."""
    words = np.ascontiguousarray(hashes).view(">u8").astype(np.uint64)  # (n, 4): bits 0-63, 64-127, ...
    out = np.empty((len(words), len(chunks)), np.uint32)
    mask = np.uint64((1 << bits) - 1)
    for j, k in enumerate(chunks):
        word, offset = divmod(k * bits, 64)
        if offset + bits <= 64:  # the chunk lies in one word
            value = (words[:, word] >> np.uint64(64 - offset - bits)) & mask
        else:  # it spans two: the high part ends one word, the low part starts the next
            low_bits = offset + bits - 64
            high = (words[:, word] & np.uint64((1 << (64 - offset)) - 1)) << np.uint64(low_bits)
            value = high | (words[:, word + 1] >> np.uint64(64 - low_bits))
        out[:, j] = value.astype(np.uint32)
    return out


class ChunkTables:
    """For each chunk, the banked rows sorted by the chunk's value (``rows``, (chunks, n) int32)
    and where each value's rows start (``offsets``, (chunks, 2^bits + 1) int32)."""

    def __init__(self, hashes: np.ndarray) -> None:
        n = len(hashes)
        self.chunks, self.bits, flips = layout(n)
        self.masks = masks(self.bits, flips)
        self.rows = np.empty((self.chunks, n), np.int32)
        self.offsets = np.empty((self.chunks, (1 << self.bits) + 1), np.int32)
        for start in range(0, self.chunks, 4):  # four chunks at a time: a 10^7 bank's values in 160 MB
            values = chunk_values(hashes, self.bits, range(start, min(start + 4, self.chunks)))
            for j in range(values.shape[1]):
                k = start + j
                self.rows[k] = np.argsort(values[:, j], kind="stable")
                self.offsets[k, 0] = 0
                np.cumsum(np.bincount(values[:, j], minlength=1 << self.bits), out=self.offsets[k, 1:])

    def pairs(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query index, row) of every banked row that shares a chunk, to within the layout's
        flips, with that query ((q, 32) uint8): each query is compared only with its candidates."""
        qv = chunk_values(queries, self.bits, range(self.chunks))
        which_parts, row_parts = [], []
        for k in range(self.chunks):
            probes = (qv[:, k, None] ^ self.masks[None, :]).ravel()
            lo = self.offsets[k, probes]
            lengths = self.offsets[k, probes + 1] - lo
            total = int(lengths.sum())
            if not total:
                continue
            starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)  # every row of every [lo, hi) range
            which_parts.append(np.repeat(np.arange(len(probes)) // len(self.masks), lengths))
            row_parts.append(np.take(self.rows[k], starts + np.arange(total)))
        if not row_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        return np.concatenate(which_parts), np.concatenate(row_parts)
