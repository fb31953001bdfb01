"""One banked image: its hash, label, evidence and where it came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from realorai.bank.pdq import ROUTE
from realorai.bank.schema import EVIDENCE, LABELS


@dataclass(frozen=True)
class Entry:
    """One banked image (``id`` 0 until it is stored)."""

    pdq: str
    quality: int
    sha256: str
    label: str
    evidence: str
    signer: str = ""
    manifest_id: str = ""
    source_types: str = ""
    confirmed_by: str = ""
    note: str = ""
    name: str = ""
    added_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    revoked_at: str = ""
    revoked_why: str = ""
    route: str = ROUTE
    id: int = 0
    source: str = ""  # '' : the bank's own; else the subscription or import it came from
    origin: str = ""  # its id in that source (a subscription applies the source's revocations by it)

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"label must be ai or real, not {self.label!r}")
        if self.evidence not in EVIDENCE:
            raise ValueError(f"evidence must be {' or '.join(EVIDENCE)}, not {self.evidence!r}")
        if self.evidence == "confirmed" and not self.confirmed_by.strip():
            raise ValueError("a confirmation names who confirmed it (--by NAME)")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def who(self) -> str:
        return self.signer if self.evidence == "c2pa-verified" else self.confirmed_by
