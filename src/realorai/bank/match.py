"""Matching an image against the bank: exact radius search over every banked hash, as findings.

Matching needs every banked hash within a distance, so the search is exact, never approximate
(faiss's HNSW lost 21-88% of true matches here): faiss ``IndexBinaryFlat`` when faiss is installed
(``pip install 'realorai[bank]'``), else a numpy popcount scan; both give the same matches
(tested). Each query is the picture's 8 dihedral hashes; an entry's distance is the least of them.

Findings and what they decide (``provenance.findings.decide``; README, docs/BANK.md):

* distance <= 31 (HMA's confident-match threshold) to a ``c2pa-verified`` entry: strong, the
  verdict is the entry's label, basis ``match``;
* <= 31 to a ``confirmed`` entry: moderate, the verdict is ``likely_`` + its label, basis ``match``;
* 32-50: weak, a finding only ("possible match: compare side by side"), never a verdict;
* matches of both labels: ``inconclusive``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from realorai.bank.engine import is_url
from realorai.bank.mih import EXACT_TO, ChunkTables
from realorai.bank.pdq import Hashed, distances
from realorai.bank.store import Bank, BankError, Entry
from realorai.provenance.findings import Finding

MATCH = 31
POSSIBLE = 50
# PDQ's dihedral order: as is, three rotations, then the four reflections.
VARIANTS = ("", "rotated 90°", "rotated 180°", "rotated 270°", "flipped top to bottom", "flipped left to right",
            "flipped about the diagonal", "flipped about the other diagonal")  # fmt: skip


@dataclass(frozen=True)
class Match:
    entry: Entry
    distance: int
    variant: int  # which of the query's dihedral hashes came closest (0: as is)
    box: tuple[int, int, int, int] | None = None  # the picture recovered inside the image, if that matched
    stale: str = ""  # matched by the last index while the bank cannot be read: since when, and why


def _faiss():
    try:
        import faiss
    except ImportError:
        faiss = None
    return faiss


RETRY_S = 5.0  # an unreachable database is tried again at most this often (a connect may take 10 s)
REBUILD_AFTER = 50_000  # changes applied on top of a build before the next full rebuild
MIH_FROM = 20_000  # banked hashes from which the decisive radius is searched by multi-index hashing
SCAN_POSSIBLE_UP_TO = 200_000  # banked hashes up to which the 32-50 band is searched by default


class Index:
    """Every matching (not revoked) hash of a bank, loaded once; ``search`` is exact.

    ``possible``: whether ``search`` also lists the 32-50 band ("possible match", never a
    verdict). It needs a full scan (about 10 ms for 10^6 hashes on 2 cores), while the decisive
    radius 31 takes a multi-index search (``bank.mih``); by default (None) the band is searched
    for banks of up to 200,000 entries (REALORAI_BANK_POSSIBLE=always|never|auto)."""

    def __init__(self, bank: Bank, engine: str = "auto", possible: bool | None = None) -> None:
        self.bank = bank
        self.ids, hashes, self.codes, self.state, self.log_id = bank.hashes()
        # Changes applied since the build (``update``): entries added (searched by a scan of their
        # own) and entries that stopped matching (left out of every answer).
        self.new_ids, self.new_hashes = np.zeros(0, np.int64), np.zeros((0, 32), np.uint8)
        self.new_codes = np.zeros(0, np.uint8)
        self.stale = ""  # set while the bank cannot be read and this index answers for it (index_for)
        self.retry_at = 0.0  # while stale: when to try the database again
        self.dead: set[int] = set()
        self.hashes = np.ascontiguousarray(hashes)
        self.possible = possible if possible is not None else _possible_default(len(self.ids))
        self._tables = ChunkTables(self.hashes) if len(self.ids) >= MIH_FROM and engine != "numpy" else None
        faiss = _faiss() if engine in ("auto", "faiss") else None
        if engine == "faiss" and faiss is None:
            raise ValueError("engine faiss needs faiss-cpu: pip install 'realorai[bank]'")
        self.engine = "faiss" if faiss is not None else "numpy"
        self._index = None
        # faiss's flat copy of the hashes serves only the scan of the wider band: not built where
        # the decisive radius has its tables and the band is off (it would add 32 bytes a hash).
        if faiss is not None and len(self.hashes) and (self.possible or self._tables is None):
            self._index = faiss.IndexBinaryFlat(256)
            self._index.add(np.ascontiguousarray(self.hashes))

    def __len__(self) -> int:
        return len(self.ids) + len(self.new_ids) - len(self.dead)

    def matching(self) -> set[int]:
        """The ids this index matches now: built with or added since, less those gone since."""
        return ({int(i) for i in self.ids} | {int(i) for i in self.new_ids}) - self.dead

    def update(self, state) -> bool:
        """Apply the bank's log since the last build or update: O(changes), never a rebuild for one
        change. False when a rebuild is due (a source switched, or ``REBUILD_AFTER`` changes)."""
        from realorai.bank.log import read_log

        rows = read_log(self.bank, self.log_id, REBUILD_AFTER + 1)
        if len(rows) > REBUILD_AFTER or any(r.action.startswith("source") for r in rows):
            return False
        added = [r.entry for r in rows if r.action == "add"]
        gone = {r.entry for r in rows if r.action in ("revoke", "remove")}
        if added:
            ids, hashes, codes = self.bank.matching(added)
            self.new_ids = np.r_[self.new_ids, ids]
            self.new_codes = np.r_[self.new_codes, codes]
            self.new_hashes = np.concatenate([self.new_hashes, hashes])
        self.dead |= gone
        if rows:
            self.log_id = rows[-1].id
        self.state = state
        return len(self.new_ids) + len(self.dead) <= max(REBUILD_AFTER, len(self.ids) // 10)

    def nearest(self, queries: np.ndarray, radius: int = POSSIBLE) -> dict[int, tuple[int, int]]:
        """{entry id: (least distance, variant)} for every entry within ``radius`` of any query."""
        out = self._nearest_built(queries, radius)
        if len(self.new_ids):  # entries added since the build: a scan of their own (few)
            d = distances(queries, self.new_hashes)
            for v, r in zip(*np.nonzero(d <= radius), strict=True):
                self._keep(out, int(self.new_ids[r]), int(d[v, r]), int(v))
        return {i: found for i, found in out.items() if i not in self.dead} if self.dead else out

    def _nearest_built(self, queries: np.ndarray, radius: int) -> dict[int, tuple[int, int]]:
        out: dict[int, tuple[int, int]] = {}
        if not len(self.ids):
            return out
        if self._tables is not None and radius <= EXACT_TO:
            which, rows = self._tables.pairs(queries)
            q64, h64 = np.ascontiguousarray(queries).view(np.uint64), self.hashes.view(np.uint64)
            # np.take, not fancy indexing: ~20x faster for these row gathers (measured).
            bits = np.bitwise_count(np.take(q64, which, axis=0) ^ np.take(h64, rows, axis=0))
            d = bits[:, 0] + bits[:, 1] + bits[:, 2] + bits[:, 3]  # faster than .sum(axis=1) on 4 columns
            for k in np.flatnonzero(d <= radius):
                self._keep(out, int(self.ids[rows[k]]), int(d[k]), int(which[k]))
            return out
        if self._index is not None:
            limits, dist, rows = self._index.range_search(np.ascontiguousarray(queries), radius + 1)  # strict <
            for v in range(len(queries)):
                for d, r in zip(dist[limits[v] : limits[v + 1]], rows[limits[v] : limits[v + 1]], strict=True):
                    self._keep(out, int(self.ids[r]), int(d), v)
            return out
        d = distances(queries, self.hashes)
        for v, r in zip(*np.nonzero(d <= radius), strict=True):
            self._keep(out, int(self.ids[r]), int(d[v, r]), int(v))
        return out

    @staticmethod
    def _keep(out: dict, entry: int, distance: int, variant: int) -> None:
        if entry not in out or distance < out[entry][0]:
            out[entry] = (distance, variant)

    def search(self, hashed: Hashed, radius: int | None = None) -> list[Match]:
        """Every entry within ``radius`` (default: 50, or 31 when ``possible`` is off) of the image,
        or of a picture recovered inside it (the image's own hash wins a tie), nearest first."""
        radius = radius if radius is not None else (POSSIBLE if self.possible else MATCH)
        found = {i: (d, v, None) for i, (d, v) in self.nearest(hashed.hashes, radius).items()}
        for box, hashes in hashed.parts:
            for i, (d, v) in self.nearest(hashes, radius).items():
                if i not in found or d < found[i][0]:
                    found[i] = (d, v, box)
        entries = self._entries(list(found)) if found else {}
        matches = [Match(entries[i], d, v, box, self.stale) for i, (d, v, box) in found.items() if i in entries]
        return sorted(matches, key=lambda m: (m.distance, m.entry.id))

    def _code(self, entry: int) -> int:
        """The entry's code (label, kind of evidence): ``ids`` are sorted, the additions few."""
        at = int(np.searchsorted(self.ids, entry))
        if at < len(self.ids) and self.ids[at] == entry:
            return int(self.codes[at])
        added = np.flatnonzero(self.new_ids == entry)
        return int(self.new_codes[added[-1]]) if len(added) else 0

    def _entries(self, ids: list[int]) -> dict[int, Entry]:
        """The matched entries as the bank has them; while it cannot be read (``stale``), as this
        index knows them: the label and the kind of evidence, the details said to be unavailable."""
        if not self.stale:
            return {e.id: e for e in self.bank.entries(ids)}
        unknown = "details unavailable while the bank cannot be read"
        out = {}
        for i in ids:
            code = self._code(i)
            verified = bool(code & 2)
            out[i] = Entry(pdq="0" * 64, quality=0, sha256="", label="ai" if code & 1 else "real", id=i,
                           evidence="c2pa-verified" if verified else "confirmed", signer=unknown if verified else "",
                           confirmed_by=unknown, added_at="")  # fmt: skip
        return out


def cached(location: str) -> Index | None:  # what /healthz says matching runs from
    return next((i for (key, _), i in _indexes.items() if key == location), None)


def _possible_default(n: int) -> bool:
    mode = os.environ.get("REALORAI_BANK_POSSIBLE", "auto").strip().lower()
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"REALORAI_BANK_POSSIBLE={mode!r}: give always, never or auto")
    return mode == "always" or (mode == "auto" and n <= SCAN_POSSIBLE_UP_TO)


_indexes: dict[tuple[str, str], Index] = {}
_lock = threading.Lock()


def index_for(bank: Bank | str, engine: str = "auto") -> Index:
    """The bank's index, kept current: the bank's change counter (one primary-key read per query)
    says when it changed, and the index applies the log's new rows (``Index.update``), rebuilding
    only when a source was switched or changes piled up."""
    # A database URL is its own key: its last index is found without reaching the database.
    held = _indexes.get((bank.key if isinstance(bank, Bank) else str(bank), engine))
    if held is not None and held.stale and time.monotonic() < held.retry_at:
        return held  # the database was unreachable a moment ago: no request waits on a connect timeout
    try:
        bank = bank if isinstance(bank, Bank) else Bank(bank)
        key = (bank.key, engine)
        state = bank.version()
    except BankError as e:
        # A database out of reach: answer from the last index, saying so in every match (a revocation
        # made meanwhile is not seen). Not for a file that is gone: a mistake to fix, not an outage.
        if held is None or not is_url(held.bank.key):
            raise
        held.retry_at = time.monotonic() + RETRY_S
        if not held.stale:
            held.stale = f"since {datetime.now(UTC).strftime('%H:%M UTC')}"
            logging.getLogger("realorai.bank").error("bank unreachable (%s): matching from the last index, %d entries",
                                                     type(e).__name__, len(held))  # fmt: skip
        return held
    index = _indexes.get(key)
    if index is not None:
        index.stale = ""
    if index is None or index.state != state:
        with _lock:  # one update or rebuild at a time, however many threads ask
            index = _indexes.get(key)
            if index is None or (index.state != state and not index.update(state)):
                index = Index(bank, engine)
                if len(_indexes) >= 4 and key not in _indexes:
                    _indexes.pop(next(iter(_indexes)))
                _indexes[key] = index
    return index


def _source_types(e: Entry) -> str:
    """The entry's declared source types for a sentence (a damaged field is shown, never fatal)."""
    try:
        types = json.loads(e.source_types or "[]")
    except ValueError:
        types = None
    if not isinstance(types, list):
        return "unreadable source types"
    return ", ".join(str(t)[:80] for t in types) or "a source type"


def describe(m: Match) -> Finding:
    finding = _describe(m)
    if m.stale:  # a match from the last index while the bank cannot be read: it may have been revoked since
        what = (f"{finding.what} [matched against this server's last copy of the bank's index: the bank cannot "
                f"be read {m.stale}; a revocation made since is not seen]")  # fmt: skip
        finding = Finding(finding.source, what, finding.strength, finding.points_to, {**finding.value, "stale": True})
    return finding


def _describe(m: Match) -> Finding:
    e = m.entry
    how = f" ({VARIANTS[m.variant]})" if m.variant else ""
    # A picture recovered inside a screenshot or a captioned copy: say where, so it can be checked.
    inside = f"the picture inside this image at {list(m.box)} is " if m.box else ""
    source = f" (source {e.source!r})" if e.source else ""  # a subscription's or an import's, by name
    at = f"at distance {m.distance} of 256{how}, bank entry {e.id}{source}"
    value = {"entry": e.id, "distance": m.distance, "evidence": e.evidence, "label": e.label,
             "variant": m.variant, "name": e.name[:60], "box": list(m.box) if m.box else None,
             "source": e.source}  # fmt: skip
    if m.distance > MATCH:
        where = f" for the picture at {list(m.box)}" if m.box else ""
        what = (f"possible match{where}: bank entry {e.id} ({e.label}, {e.evidence}) at distance {m.distance} of "
                "256: compare side by side (not a verdict)")  # fmt: skip
        return Finding("bank", what, "weak", e.label, value)
    if e.evidence == "c2pa-verified":
        types = _source_types(e)
        what = f"{inside}a copy of a picture banked with a verified content credential signed by {e.signer} "
        what += f"({types}), {at}"
        return Finding("bank", what, "strong", e.label, value)
    note = f": {e.note}" if e.note else ""
    what = f"{inside}a copy of a picture confirmed {e.label} by {e.confirmed_by} on {e.added_at[:10]}{note}, {at}"
    return Finding("bank", what, "moderate", e.label, value)


def match_findings(index: Index, hashed: Hashed) -> list[Finding]:
    """The bank's findings for one image: every entry within POSSIBLE, nearest first."""
    return [describe(m) for m in index.search(hashed)]
