"""Filling the bank: images whose credential verifies now, or that a person confirms.

Nothing is banked as ``c2pa-verified`` unless realorai read and verified the file's credential
itself, under the trust list in use (``provenance.c2pa_evidence.credential``), and that
credential is about a whole picture (created in one act, no ingredients): an edit's credential
(a composite with generated parts, an inpainting) is never banked, since the unedited original
lies within the match radius of the edit (``c2pa_evidence.whole_picture``). A featureless
image (PDQ quality under 50) is never banked: its hash would match unrelated flat images. A
picture already banked with the other label is banked again and both entries are kept, with a
warning: its copies will be ``inconclusive`` until one is revoked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from realorai.bank.match import MATCH, index_for
from realorai.bank.pdq import MIN_QUALITY, hash_image
from realorai.bank.store import Bank, Entry
from realorai.imaging import ImageLoadError, Source, Upload


@dataclass(frozen=True)
class Added:
    """What became of one image: ``status`` banked / skipped / error, with why and any warning."""

    path: str
    status: str
    why: str = ""
    entry: int = 0
    warning: str = ""


def _sha256(src: Source) -> str:
    if isinstance(src, Upload):
        return hashlib.sha256(src.data).hexdigest()
    from realorai.hashing import sha256_file

    return sha256_file(Path(src))


def _evidence(src: Source, label: str | None, by: str, note: str, trust) -> tuple[dict | None, str]:
    """The entry's evidence fields, or None and why the image is not banked."""
    if label is not None:
        return {"label": label, "evidence": "confirmed", "confirmed_by": by, "note": note}, ""
    from realorai.provenance.c2pa_evidence import credential

    cred = credential(src, trust)
    if cred is None:
        return None, "no content credential that verifies under the trust list in use (to bank a person's " \
                     "confirmation instead, give --label ai|real --by NAME)"  # fmt: skip
    if cred["edit"]:
        return None, f"not banked: {cred['edit']}; it decides this file's own verdict, but not its look-alikes " \
                     "(its unedited original is within the match radius; docs/BANK.md)"  # fmt: skip
    return {"label": cred["label"], "evidence": "c2pa-verified", "signer": cred["signer"],
            "manifest_id": cred["manifest_id"], "source_types": json.dumps(cred["source_types"]),
            "note": note}, ""  # fmt: skip


def add_one(bank: Bank, src: Source, trust=None, label: str | None = None, by: str = "", note: str = "") -> Added:
    name = str(src)
    try:
        hashed = hash_image(src)
        fields, why = _evidence(src, label, by, note, trust)
        sha = _sha256(src)
    except ImageLoadError as e:
        return Added(name, "error", e.reason)
    except OSError as e:
        return Added(name, "error", f"cannot read file: {e.strerror or e}")
    if fields is None:
        return Added(name, "skipped", why)
    if hashed.quality < MIN_QUALITY:
        return Added(name, "skipped", f"featureless picture (PDQ quality {hashed.quality} < {MIN_QUALITY}): its "
                                      "hash would match unrelated flat images")  # fmt: skip
    same = [e for e in bank.by_sha256(sha) if not e.revoked_at and e.label == fields["label"]
            and e.evidence == fields["evidence"]]  # fmt: skip
    if same:
        return Added(name, "skipped", f"already banked (entry {same[0].id})", same[0].id)
    others = [m for m in index_for(bank).search(hashed, MATCH) if m.entry.label != fields["label"]]
    entry = Entry(pdq=hashed.hex, quality=hashed.quality, sha256=sha, name=Path(name).name[:200], **fields)
    (entry_id,) = bank.add([entry], [hashed.thumbnail])
    warning = ""
    if others:
        o = others[0]
        warning = (
            f"the picture matches entry {o.entry.id}, labelled {o.entry.label} ({o.entry.evidence}), at "
            f"distance {o.distance}: both are kept, and its copies will be inconclusive until one is revoked"
        )
    return Added(name, "banked", f"{fields['label']}, {fields['evidence']}", entry_id, warning)


def learn(bank: Bank, sources: list[Source], rows: list[dict], trust=None) -> list[Added]:
    """``--bank-learn``: bank every image whose row a verified credential decided (re-verified by
    ``add_one``, which reads the file's credential itself)."""
    done = []
    for src, row in zip(sources, rows, strict=True):
        if row.get("basis") == "provenance" and row.get("verdict") in ("ai", "real"):
            done.append(add_one(bank, src, trust))
    return done
