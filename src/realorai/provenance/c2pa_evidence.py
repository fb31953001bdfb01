"""C2PA content credentials through c2pa-python: who signed, what they declare, is it intact."""

from __future__ import annotations

import io
import json
import re
from functools import lru_cache

from realorai.imaging import Source, Upload
from realorai.provenance.findings import Finding
from realorai.provenance.iptc import IPTC, describe
from realorai.provenance.trust import TrustSpec, resolve


@lru_cache(maxsize=8)
def _context(anchors_pem: str | None, allow_network: bool):
    """A c2pa.Context for one trust configuration, built per configuration, never a module global.

    Remote manifests and OCSP are never fetched unless ``allow_network``: an image must not make
    the inspector send requests to addresses it names (tracking, server-side request forgery).
    """
    import c2pa

    settings: dict = {
        "verify": {
            "verify_trust": anchors_pem is not None,
            "remote_manifest_fetch": allow_network,
            "ocsp_fetch": allow_network,
        }
    }
    if anchors_pem is not None:
        settings["trust"] = {"trust_anchors": anchors_pem}
    return c2pa.Context(c2pa.Settings.from_json(json.dumps(settings)))


def context_for(trust: TrustSpec = None, allow_network: bool = False):
    """``trust``: see :func:`realorai.provenance.trust.resolve` (None is the official list)."""
    return _context(resolve(trust).pem, allow_network)


_JUMBF = re.compile(rb"jumb.{0,64}?c2pa", re.DOTALL)
SCAN_BYTES = 64 * 2**20  # of a file searched for a manifest store the library did not find


def _carries_jumbf(path: Source) -> bool:
    """Whether the bytes hold a JUMBF box labelled c2pa (a C2PA manifest store, readable or not)."""
    if isinstance(path, Upload):
        return _JUMBF.search(path.data, 0, SCAN_BYTES) is not None
    import mmap

    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return _JUMBF.search(m, 0, SCAN_BYTES) is not None  # mapped, not read into memory
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return False


def _source_types(manifest: dict) -> list[str]:
    found = []
    for assertion in manifest.get("assertions", []):
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions", []):
            dst = action.get("digitalSourceType")
            if dst:
                found.append(str(dst).removeprefix(IPTC))
    return list(dict.fromkeys(found))  # c2pa.actions and c2pa.actions.v2 often repeat the same claim


def _generator(manifest: dict) -> str:
    info = manifest.get("claim_generator_info") or []
    names = [f"{i.get('name', '')} {i.get('version', '')}".strip() for i in info if isinstance(i, dict)]
    return ", ".join(n for n in names if n) or str(manifest.get("claim_generator", ""))


def inspect_c2pa(path: Source, trust: TrustSpec = None, allow_network: bool = False) -> list[Finding]:
    """Findings from the file's C2PA manifest store (none when it has none); one per declared
    source type however many action assertions repeat it."""
    import c2pa

    try:
        context = context_for(trust, allow_network)
        if isinstance(path, Upload):  # read from memory: uploads are never written to disk
            reader = c2pa.Reader.try_create(io.BytesIO(path.data), context=context)
        else:
            reader = c2pa.Reader.try_create(str(path), context=context)
        if reader is None:
            if _carries_jumbf(path):  # a manifest store the library could not parse (an XLBox of 2^62...)
                return [Finding("c2pa", "C2PA manifest present but unreadable", "invalid", None,
                                "a JUMBF box labelled c2pa that the C2PA library could not read")]  # fmt: skip
            return []
        with reader:
            state = reader.get_validation_state() or "Invalid"
            manifest = reader.get_active_manifest() or {}
            results = reader.get_validation_results() or {}
    except c2pa.C2paError as e:
        if "NotSupported" in type(e).__name__ or "type is unsupported" in str(e):
            return []  # a format C2PA does not cover (e.g. BMP); no manifest is handled by try_create
        return [Finding("c2pa", "C2PA manifest present but unreadable", "invalid", None, f"{type(e).__name__}: {e}")]
    except Exception as e:  # never let a malformed manifest crash an inspection
        return [Finding("c2pa", "C2PA manifest could not be read", "invalid", None, f"{type(e).__name__}: {e}")]

    failures = [r.get("code", "") for r in (results.get("activeManifest") or {}).get("failure", [])]
    signer = manifest.get("signature_info") or {}
    signed_by = f"{signer.get('common_name') or '?'} ({signer.get('issuer') or '?'})"
    who = f"signed by {signed_by}, generator {_generator(manifest)}"
    detail = json.dumps({"state": state, "failures": failures[:5], "source_types": _source_types(manifest)})
    if state == "Invalid" or any(not c.startswith("signingCredential.untrusted") for c in failures):
        return [
            Finding(
                "c2pa",
                f"C2PA manifest INVALID or tampered ({', '.join(failures[:3]) or state}); {who}",
                "invalid",
                None,
                detail,
            )
        ]
    trusted = state == "Trusted"
    if trusted:
        status = "valid, trusted signer"
    elif not resolve(trust).checked:
        status = "valid signature, trust not checked"
    else:
        status = "valid signature, signer not on the trust list"
    findings = []
    for dst in _source_types(manifest):
        kind, points_to, meaning = describe(dst)
        if kind == "neutral":
            strength = "weak"
        elif trusted:
            strength = "strong"
        else:  # an intact but unverified claim: generation claims are rarely forged, captures often
            strength = "moderate" if kind == "ai" else "weak"
        findings.append(
            Finding("c2pa", f"C2PA ({status}) declares {dst}: {meaning}; {who}", strength, points_to, detail)
        )
    if not findings:
        findings.append(
            Finding("c2pa", f"C2PA manifest ({status}) with no digital source type; {who}", "weak", None, detail)
        )
    return findings


def verified_label(path: Source, trust: TrustSpec = None) -> tuple[str | None, str]:
    """(label, why not): the label the file's own credential gives when it verifies now under
    ``trust`` and agrees with itself, else None and the reason (never a scan file's word)."""
    from realorai.provenance.findings import decide

    found = inspect_c2pa(path, trust)
    d = decide(found, None)
    if d["basis"] == "provenance" and d["verdict"] in ("ai", "real"):
        return d["verdict"], ""
    if not found:
        return None, "the file carries no content credential"
    return None, d["note"] or "its content credential does not verify under the trust list in use"


def credential(path: Source, trust: TrustSpec = None) -> dict | None:
    """The verified credential of a file, re-read now under ``trust``: {label, signer, manifest_id,
    source_types}, or None when it has none that verifies (``verified_label``): what the bank
    stores as ``c2pa-verified``."""
    import c2pa

    label, _ = verified_label(path, trust)
    if label is None:
        return None
    try:
        context = context_for(trust, False)
        source = io.BytesIO(path.data) if isinstance(path, Upload) else str(path)
        reader = c2pa.Reader.try_create(source, context=context)
        with reader:
            manifest = reader.get_active_manifest() or {}
            store = reader.json()
            manifest_id = json.loads(store).get("active_manifest", "") if store else ""
    except Exception:  # verified a moment ago: a second read failing leaves the id unknown, not the verdict
        manifest, manifest_id = {}, ""
    signer = manifest.get("signature_info") or {}
    return {
        "label": label,
        "signer": f"{signer.get('common_name') or '?'} ({signer.get('issuer') or '?'})",
        "manifest_id": str(manifest_id or ""),
        "source_types": _source_types(manifest),
    }


def manifest_store(path: Source, trust: TrustSpec = None, allow_network: bool = False) -> dict | None:
    """The file's whole C2PA manifest store as c2pa-python reads and validates it under ``trust``
    (manifests, their assertions and actions, ingredients, signature info, validation results and
    state), for ``inspect --manifest``; None when the file carries none that the library reads."""
    import c2pa

    try:
        source = io.BytesIO(path.data) if isinstance(path, Upload) else str(path)
        reader = c2pa.Reader.try_create(source, context=context_for(trust, allow_network))
        if reader is None:
            return None
        with reader:
            return json.loads(reader.json())
    except Exception as e:  # a damaged store: say so, as inspect's findings do
        return {"error": f"{type(e).__name__}: {str(e)[:300]}"}
