"""A stream that learns from its reviewers: confirm (bank the image, keep its features, score it
with the current version first), fit (a new version from every confirmation that still stands),
and the stream's detector (its newest version, tiers the drift guard has suspended taken away).

The head is fitted by the same code as ``realorai adapt`` (``detector.adapt.adapt_head``:
cross-validated pull toward a prior, Platt map and tiers on out-of-fold scores); only the
examples differ: stored features of confirmed images, no augmented views (a confirmation keeps its
features, never its pixels). The model's own verdicts never become examples: only a confirmation
made by a person (a name) does.
"""

from __future__ import annotations

import threading

import numpy as np

from realorai.bank import Bank
from realorai.learn import guard, store
from realorai.learn.features import features
from realorai.tiers import tier_of


def confirm(bank: Bank, stream: str, src, label: str, by: str, note: str = "", trust=None,
            features_name: str | None = None) -> dict:  # fmt: skip
    """Bank ``src`` as confirmed ``label`` by ``by`` and record it as an example of ``stream``:
    {status, entry, example, why, seen} (``seen``: what the current version said of it first)."""
    from realorai.bank.add import add_one

    if not by.strip():
        raise ValueError("a confirmation names who confirmed it: only a person's word teaches a stream")
    info = store.create(bank, stream, features_name or "early")
    added = add_one(bank, src, trust, label, by, note)
    if not added.entry:
        return {"status": added.status, "entry": 0, "example": 0, "why": added.why, "seen": None}
    if store.has_entry(bank, stream, added.entry):
        return {"status": "skipped", "entry": added.entry, "example": 0, "why": "already an example of this stream",
                "seen": None}  # fmt: skip
    x = features(info["features"], src)
    seen = score(bank, stream, x)
    example = store.add_example(bank, stream, added.entry, label, x, by, seen)
    return {"status": "learned", "entry": added.entry, "example": example, "why": added.why, "seen": seen}


def bank_and_learn(bank: Bank, src, label: str, by: str, note: str = "", stream: str | None = None, trust=None):
    """A person's confirmation as ``bank.add`` reports one (``Added``): banked, and with ``stream``
    learned there too; what ``bank add --stream`` and ``POST /v1/bank/confirm?stream=`` do."""
    from realorai.bank.add import Added, add_one
    from realorai.imaging import ImageLoadError

    if stream is None:
        return add_one(bank, src, trust, label, by, note)
    try:
        done = confirm(bank, stream, src, label, by, note, trust)
    except ImageLoadError as e:
        return Added(str(src), "error", e.reason)
    if done["status"] != "learned":
        return Added(str(src), done["status"], done["why"], done["entry"])
    return Added(str(src), "banked", f"{done['why']}; learned into stream {stream!r}", done["entry"])


def score(bank: Bank, stream: str, x: np.ndarray) -> tuple[int, float, str] | None:
    """(version, P(AI), tier) of the stream's current version for features ``x`` (None: no version)."""
    det = version_detector(bank, stream)
    if det is None:
        return None
    model = det.model
    p = float(1 / (1 + np.exp(-(model.a * model.head.logits(x[None])[0] + model.b))))
    return det.meta["stream"]["version"], p, tier_of(p, det.tiers)  # the tiers as fitted, none suspended


def version_detector(bank: Bank, stream: str):
    """The stream's newest version as a ``Detector`` (``inference.streams``), None before a fit."""
    from realorai.inference.detector import Detector
    from realorai.inference.streams import version_detector as newest

    return newest(bank, stream, Detector)


def status(bank: Bank, stream: str) -> dict:
    """What a stream holds: examples by label, its version, the tiers and their recent record."""
    det = version_detector(bank, stream)
    out = {**store.get(bank, stream), "examples": store.counts(bank, stream), "version": None, "tiers": None,
           "guard": None}  # fmt: skip
    if det is not None:
        version = det.meta["stream"]["version"]
        out["version"] = version
        out["tiers"] = {"likely_ai_from": det.tiers.likely_ai_from, "likely_real_below": det.tiers.likely_real_below}
        out["guard"] = {t: {"decided": r.decided, "wrong": r.wrong, "precision": r.precision,
                            "suspended": r.suspended, "why": r.why()}
                        for t, r in guard.records(bank, stream, version).items()}  # fmt: skip
        out["fitted"] = det.meta["stream"]
    return out


def due(bank: Bank, stream: str, every: int) -> bool:
    """Whether ``stream`` has ``every`` or more confirmations that its newest version has not
    learned, and enough of each class to fit."""
    if every <= 0:
        return False
    counts = store.counts(bank, stream)
    if min(counts.values()) < store.get(bank, stream)["min_per_class"]:
        return False
    det = version_detector(bank, stream)
    learned = sum(det.meta["stream"]["examples"].values()) if det else 0
    return sum(counts.values()) - learned >= every or det is None


_fitting: set[tuple[str, str]] = set()
_lock = threading.Lock()


def refit_in_background(bank: Bank, stream: str, every: int, log=None) -> bool:
    """Start a refit when one is due and none runs for this stream in this process: a thread waits
    on a low-priority child process that fits (``learn.refit``); requests are never blocked and
    keep the version they have until the new one is written."""
    key = (bank.key, stream)
    with _lock:
        if key in _fitting or not due(bank, stream, every):
            return False
        _fitting.add(key)

    def work() -> None:
        from realorai.learn.refit import run

        try:  # a child process that yields the CPU to requests (learn.refit); this process writes
            got = run(bank, stream)
            if log is not None:
                done = f"version {got['version']} fitted in {got['seconds']} s" if "version" in got else None
                log(f"stream {stream!r}: {done or 'refit skipped (' + got['error'] + ')'}")
        finally:
            with _lock:
                _fitting.discard(key)

    threading.Thread(target=work, name=f"refit-{stream}", daemon=True).start()
    return True


def fit(bank: Bank, stream: str, seed: int = 0) -> dict:
    """Fit a new version on every confirmation that still stands and write it; its figures
    (cross-validated on the examples), or a refusal saying how many more of each class are needed."""
    from realorai.learn.fitting import prepare

    version, head, meta = prepare(bank, stream, seed)
    store.save_version(bank, stream, version, head, meta)
    return meta["stream"]
