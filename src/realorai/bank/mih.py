"""Exact radius search to distance 31 by multi-index hashing (Norouzi et al.), for big banks.

A brute-force scan compares a query with every banked hash: ~10 ms for 8 hashes over 10^6 on 2
cores even with faiss. Split each 256-bit hash into 16 chunks of 16 bits: two hashes at most 31
bits apart differ by at most 1 bit in at least one chunk (16 chunks x 2 bits = 32 > 31, the
pigeonhole principle). So each query chunk probes its 17 neighbours (itself and its 16 one-bit
flips) in that chunk's sorted table, and only the entries found there (about 17 x 16 x n / 65,536
of them) are compared in full: the result is exactly the scan's, at a fraction of its cost.
Beyond 31 the probes multiply (697 per chunk at 50), so wider radii scan (``match.Index``).
"""

from __future__ import annotations

import numpy as np

CHUNKS = 16
EXACT_TO = 2 * CHUNKS - 1  # 31: the largest radius this search is exact for
FLIPS = np.array([0] + [1 << b for b in range(16)], dtype=np.uint16)


class ChunkTables:
    """For each of the 16 chunks, the bank's 16-bit values sorted (``keys``, (16, n) uint16) and
    the row each came from (``rows``, (16, n) int32): 6 bytes a chunk a hash, 96 a hash in all
    (1 GB at 10^7 hashes, beside the hashes' own 32 bytes each)."""

    def __init__(self, hashes: np.ndarray) -> None:
        words = np.ascontiguousarray(hashes).view(">u2").astype(np.uint16)  # (n, 16)
        n = len(words)
        self.keys = np.empty((CHUNKS, n), np.uint16)
        self.rows = np.empty((CHUNKS, n), np.int32)
        for c in range(CHUNKS):
            order = np.argsort(words[:, c], kind="stable")
            self.keys[c] = words[order, c]
            self.rows[c] = order

    def pairs(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query index, row) of every banked row that shares a chunk, to within one bit, with
        that query ((q, 32) uint8): each query is compared only with its own candidates."""
        qw = np.ascontiguousarray(queries).view(">u2").astype(np.uint16)  # (q, 16)
        which_parts, row_parts = [], []
        for c in range(CHUNKS):
            probes = (qw[:, c, None] ^ FLIPS[None, :]).ravel()  # (q * 17)
            lo = np.searchsorted(self.keys[c], probes, "left")
            hi = np.searchsorted(self.keys[c], probes, "right")
            lengths = hi - lo
            total = int(lengths.sum())
            if not total:
                continue
            starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)  # every row of every [lo, hi) range
            which_parts.append(np.repeat(np.arange(len(probes)) // len(FLIPS), lengths))
            row_parts.append(np.take(self.rows[c], starts + np.arange(total)))
        if not row_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        return np.concatenate(which_parts), np.concatenate(row_parts)
