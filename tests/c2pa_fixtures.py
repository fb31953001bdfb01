"""C2PA fixtures the tests build: a throwaway CA, a signer it issued, and images signed by it."""

from __future__ import annotations

import datetime
import io
import json

import c2pa
from conftest import smooth_image
from cryptography import x509

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def make_ca_and_signer(org: str = "realorai tests"):
    """A throwaway CA and an end-entity signing certificate, as C2PA requires (ES256)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str):
        return x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
        )

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def builder(subject, issuer, public_key):
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )

    ca = (
        builder(name("Test CA"), name("Test CA"), ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        builder(name("Test Signer"), ca.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain = (leaf.public_bytes(pem) + ca.public_bytes(pem)).decode()

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return ca.public_bytes(pem).decode(), c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ES256, chain)


def sign_jpeg(data: bytes, path, signer, source_type: str, repeat: int = 1, actions: list | None = None,
              parent: bytes | None = None) -> None:  # fmt: skip
    """Write JPEG ``data`` to ``path`` with a C2PA manifest declaring ``source_type``, signed by
    ``signer``; ``actions`` (pairs of action and source type) replace the default c2pa.created;
    ``parent`` (a JPEG) is the ingredient a ``c2pa.opened`` action opened (an edit of it)."""
    if actions is not None:
        actions = [{"action": a, "digitalSourceType": IPTC + t} if t else {"action": a} for a, t in actions]
        for a in actions:
            if a["action"] == "c2pa.opened":
                a["parameters"] = {"ingredientIds": ["parent"]}
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + source_type}]
        actions += [{"action": "c2pa.edited", "digitalSourceType": IPTC + source_type}] * (repeat - 1)
    manifest = {
        "claim_generator_info": [{"name": "realorai-test", "version": "1"}],
        "title": path.name,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }
    out = io.BytesIO()
    with c2pa.Builder(json.dumps(manifest)) as builder:
        if parent is not None:
            parent_of = {"title": "original.jpg", "relationship": "parentOf", "label": "parent"}
            builder.add_ingredient(json.dumps(parent_of), "image/jpeg", io.BytesIO(parent))
        builder.sign(signer, "image/jpeg", io.BytesIO(data), out)
    path.write_bytes(out.getvalue())


def sign_image(path, signer, source_type: str, repeat: int = 1, seed: int = 7) -> None:
    """A generated 128-px JPEG, signed (``seed`` picks its content)."""
    src = io.BytesIO()
    smooth_image(seed, 128, noise=10).save(src, "JPEG", quality=92)
    sign_jpeg(src.getvalue(), path, signer, source_type, repeat)
