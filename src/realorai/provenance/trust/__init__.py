"""C2PA trust anchors: the official C2PA conformance trust list, bundled with the package.

Order of precedence for the anchors a C2PA signature is checked against:
1. ``--c2pa-trust FILE`` (a PEM file) or ``--c2pa-trust none`` (trust not checked);
2. a list refreshed with ``realorai trust refresh`` (kept in the user's data folder);
3. the list bundled in this package (date and source in SOURCE.json).

Credit: C2PA, conformance-public trust list (CC BY 4.0).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from realorai.atomic import write_json, write_text

SIGNERS, TSA = "C2PA-TRUST-LIST.pem", "C2PA-TSA-TRUST-LIST.pem"
BASE_URL = "https://raw.githubusercontent.com/c2pa-org/conformance-public/main/trust-list/"
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")
# Text a PEM bundle may hold between its certificates: blank lines, comments, and label lines
# such as the official list's "Subject<TAB>CN=..." (or OpenSSL's "subject=...").
_LABEL = re.compile(r"^\s*$|^\s*#|^[A-Za-z][A-Za-z ]{0,30}\s*[\t:=]")


class TrustListError(ValueError):
    """A trust list that cannot be used."""


def bundled_dir() -> Path:
    return Path(str(resources.files("realorai.provenance") / "trust"))


def user_dir() -> Path:
    """Where ``realorai trust refresh`` keeps a newer list ($REALORAI_TRUST_DIR or the XDG data folder)."""
    if os.environ.get("REALORAI_TRUST_DIR"):
        return Path(os.environ["REALORAI_TRUST_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "realorai" / "c2pa-trust"


def check_pem(text: str, origin: str) -> str:
    """The text if it is a list of CA certificates in PEM, else a clear error naming ``origin``:
    every block must parse as an X.509 certificate whose basic constraints say CA, and nothing
    else may stand between them but blank, comment or label lines (an HTML page holding one PEM
    block is not a trust list)."""
    from cryptography import x509

    blocks = _PEM.findall(text)
    if not blocks:
        raise TrustListError(f"{origin}: no PEM certificate found (expected -----BEGIN CERTIFICATE----- blocks)")
    for line in _PEM.sub("", text).splitlines():
        if not _LABEL.match(line):
            raise TrustListError(f"{origin}: not a list of PEM certificates (unexpected text: {line.strip()[:60]!r})")
    for n, block in enumerate(blocks, 1):
        try:
            cert = x509.load_pem_x509_certificate(block.encode("ascii"))
        except ValueError as e:
            raise TrustListError(f"{origin}: certificate {n} of {len(blocks)} does not parse ({e})") from e
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            who = cert.subject.rfc4514_string()
            raise TrustListError(f"{origin}: certificate {n} ({who}) is not a CA certificate; trust anchors must be")
    return text


def active_dir() -> Path:
    refreshed = user_dir()
    return refreshed if (refreshed / SIGNERS).is_file() else bundled_dir()


def info() -> dict:
    """Which list is in use, its date, source and size."""
    folder = active_dir()
    meta = json.loads((folder / "SOURCE.json").read_text()) if (folder / "SOURCE.json").is_file() else {}
    text = (folder / SIGNERS).read_text()
    return {"folder": str(folder), "certificates": len(_PEM.findall(text)), **meta}


@dataclass(frozen=True)
class TrustAnchors:
    """Resolved C2PA trust anchors: PEM text, or None when trust is not checked."""

    pem: str | None
    origin: str

    @property
    def checked(self) -> bool:
        return self.pem is not None

    def __str__(self) -> str:  # what a scan records among its settings
        return self.origin


# What every caller passes: None (the default list), "none" (trust not checked), a PEM file's
# path, or anchors already resolved.
TrustSpec = str | Path | TrustAnchors | None


@lru_cache(maxsize=8)
def _read_list(path: str, mtime_ns: int) -> str:  # mtime in the key: a refreshed list is read again
    return Path(path).read_text()


def resolve(spec: TrustSpec = None) -> TrustAnchors:
    """The one resolver of ``--c2pa-trust`` values: None -> the default list (refreshed, else
    bundled); "none" -> no trust checking; a path -> that PEM file (checked)."""
    if isinstance(spec, TrustAnchors):
        return spec
    if spec is None:
        path = active_dir() / SIGNERS
        return TrustAnchors(_read_list(str(path), path.stat().st_mtime_ns), str(path))
    if str(spec).lower() == "none":
        return TrustAnchors(None, "none")
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TrustListError(f"{path}: cannot read trust anchors ({getattr(e, 'strerror', None) or e})") from e
    return TrustAnchors(check_pem(text, str(path)), str(path))


def refresh(base_url: str = BASE_URL, dest: Path | None = None, timeout: float = 30.0) -> dict:
    """Download the current lists from their public source, check them, and write them
    atomically; on any failure (network, not a list of CA certificates) the list in use stays."""
    dest = dest or user_dir()
    if not base_url.lower().startswith(("https://", "http://", "file://")):
        raise TrustListError(f"{base_url}: not a URL (give the https:// address of the list's folder)")
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    texts = {}
    for name in (SIGNERS, TSA):
        url = base_url + name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http(s) or file only)
                raw = response.read()
        except (OSError, ValueError) as e:
            raise TrustListError(f"{url}: cannot download ({getattr(e, 'reason', None) or e})") from e
        try:
            texts[name] = check_pem(raw.decode("utf-8"), url)
        except UnicodeDecodeError as e:
            raise TrustListError(f"{url}: not UTF-8 text, so not a PEM list ({e})") from e
    for name, text in texts.items():
        write_text(dest / name, text)
    from datetime import UTC, datetime

    meta = {
        "name": "C2PA conformance trust list",
        "source": base_url,
        "date": datetime.now(UTC).date().isoformat(),
        "license": "CC BY 4.0",
        "credit": "C2PA, conformance-public trust list",
    }
    write_json(dest / "SOURCE.json", meta)
    return {"folder": str(dest), "certificates": len(_PEM.findall(texts[SIGNERS])), **meta}
