"""Exact and near duplicates: groups that a split keeps on one side, and label conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

# Two images whose PDQ hashes (256 bits, the bank's perceptual hash) differ in at most this many
# bits are near duplicates: HMA's confident-match threshold. Re-encoding, resizing and recolouring
# stay within it (docs/RESULTS.md, "bank": recall 98-100%, no false match between different shared
# images); unrelated pictures sit ~128 bits apart. At most 31: the search below needs it.
NEAR_DUP_MAX_DISTANCE = 31
BYTES = 32


def _near_pairs(hashes: np.ndarray, threshold: int, block_bytes: int = 1 << 25) -> Iterator[tuple[int, int]]:
    """Index pairs (a < b) whose (n, 32) uint8 hashes differ in <= ``threshold`` bits, in a fixed
    order.

    Multi-index hashing: split the 256 bits into ``threshold + 1`` chunks of whole bytes; by the
    pigeonhole principle two hashes that close agree exactly on at least one chunk, so only hashes
    that share a chunk value are compared. Within a bucket, distances are computed a block of rows
    at a time (at most ``block_bytes`` each) and pairs are yielded, never stored: memory stays
    bounded even when thousands of images share a bucket. A pair may come more than once.
    """
    if not 0 <= threshold < BYTES:
        raise ValueError(f"near-duplicate threshold {threshold}: give 0 to {BYTES - 1} bits")
    bounds = np.linspace(0, BYTES, threshold + 2).astype(int)
    weights = 256 ** np.arange(BYTES, dtype=np.float64)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        keys = hashes[:, lo:hi].astype(np.float64) @ weights[: hi - lo]  # the chunk's bytes as one number
        order = np.argsort(keys, kind="stable")
        starts = np.flatnonzero(np.r_[True, keys[order][1:] != keys[order][:-1]])
        for a, b in zip(starts, np.r_[starts[1:], len(order)], strict=True):
            if b - a < 2:
                continue
            m = order[a:b]
            hm = hashes[m]
            rows = max(1, block_bytes // (BYTES * len(m)))
            for r in range(0, len(m), rows):
                dist = np.bitwise_count(hm[r : r + rows, None] ^ hm[None, :]).sum(axis=2)
                for i, k in zip(*np.nonzero(dist <= threshold), strict=True):
                    if r + i < k:
                        yield int(min(m[r + i], m[k])), int(max(m[r + i], m[k]))


def _hashes(df: pd.DataFrame, rows) -> np.ndarray:
    return np.frombuffer(bytes.fromhex("".join(df.at[i, "pdq"] for i in rows)), dtype=np.uint8).reshape(-1, BYTES)


def group_duplicates(df: pd.DataFrame, near_threshold: int = NEAR_DUP_MAX_DISTANCE) -> pd.DataFrame:
    """Mark exact duplicates, group exact and near duplicates, flag groups with both labels."""
    df = df.sort_values("path", kind="stable").reset_index(drop=True)
    parent = list(range(len(df)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    decoded = df.index[df["status"].isin(["ok", "unlabeled"])]
    # Labelled copies first: an unlabeled copy (downloads/x.png) never displaces a labelled one.
    decoded = sorted(decoded, key=lambda i: (df.at[i, "status"] != "ok", i))
    # Exact duplicates: same bytes. Keep the first path; the rest carry no new information.
    first_of: dict[str, int] = {}
    for i in decoded:
        sha = df.at[i, "sha256"]
        if sha in first_of:
            keeper = first_of[sha]
            union(keeper, i)
            df.at[i, "status"] = "duplicate"
            df.at[i, "reason"] = f"exact duplicate of {df.at[keeper, 'path']}"
        else:
            first_of[sha] = i
    # Near duplicates stay usable but share a group, so a split keeps them on one side.
    keepers = np.array([i for i in first_of.values() if df.at[i, "pdq"]], dtype=int)
    if len(keepers) > 1:
        hashes = _hashes(df, keepers)
        for a, b in _near_pairs(hashes, near_threshold):
            ra, rb = find(int(keepers[a])), find(int(keepers[b]))
            # Complete-link on group founders: join two groups only if their first members are
            # close too, so a chain of small steps (blends between unrelated images) never
            # merges unrelated images.
            ha, hb = _hashes(df, [ra, rb])
            if ra != rb and int(np.bitwise_count(ha ^ hb).sum()) <= near_threshold:
                union(ra, rb)
    # Aligned pairs (`data reconstruct`: a real image and its reconstruction) stay together.
    pairs = df["pair"] if "pair" in df.columns else pd.Series("", index=df.index)
    for members in df.index[pairs != ""].groupby(pairs[pairs != ""]).values():
        for i in members[1:]:
            union(int(members[0]), int(i))
    df["dup_group"] = [find(i) for i in range(len(df))]
    df["label_conflict"] = False
    for g in _conflicting_groups(df, pairs):
        members = df["dup_group"] == g
        df.loc[members, "label_conflict"] = True
        paths = ", ".join(Path(p).name for p in df.loc[members, "path"])
        df.loc[members, "reason"] = (
            df.loc[members, "reason"].where(df.loc[members, "reason"] == "", df.loc[members, "reason"] + "; ")
            + f"label conflict: duplicate group holds both labels ({paths})"
        )
    return df


def _conflicting_groups(df: pd.DataFrame, pairs: pd.Series) -> list[int]:
    """Groups holding a real image and an AI image that is not a reconstruction of one of them.

    A reconstruction (an "ai" member with a pair id) is a near duplicate of its real image by
    design, so it never makes its group a conflict; any other AI image beside a real one does."""
    kept = df["status"].isin(["ok", "duplicate"])
    real = kept & (df["label"] == "real")
    other_ai = kept & (df["label"] == "ai") & (pairs == "")
    both = set(df.loc[real, "dup_group"]) & set(df.loc[other_ai, "dup_group"])
    return sorted(both)
