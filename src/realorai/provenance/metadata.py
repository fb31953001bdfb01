"""Generator and camera metadata: PNG text chunks, XMP (incl. IPTC DigitalSourceType), EXIF.

Rules and their strength:
- PNG ``parameters`` with generation settings (AUTOMATIC1111/Forge), ``prompt``/``workflow``
  JSON (ComfyUI), ``invokeai_metadata``/``sd-metadata``/``Dream`` (InvokeAI): strong -> ai.
- A known generator's name in EXIF Software or a PNG ``Software`` chunk: strong -> ai.
- A known generator's name in other text (comments, descriptions, XMP CreatorTool): moderate -> ai.
- XMP ``Iptc4xmpExt:DigitalSourceType`` of AI generation: moderate -> ai; of a capture: weak -> real.
- Camera EXIF (Make/Model, DateTimeOriginal): weak -> real (trivial to forge or copy).
Generator metadata is strong when present but is stripped by most re-uploads: absence proves nothing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from PIL import Image

from realorai.provenance.findings import Finding
from realorai.provenance.iptc import describe

MAX_XMP_BYTES = 1 << 20  # larger XMP packets are reported, not parsed
MAX_SCAN_CHARS = 1 << 20  # text values are searched only this far: bounded work per file
XMP_KEY = "XML:com.adobe.xmp"

# Generator names as names: product strings and model ids, never bare words that mean something
# else in some language ("imagen" is Spanish for image, "firefly" and "ideogram" are English words).
GENERATORS = re.compile(
    r"\b(midjourney|dall[\s·\-]?e(?:\s?[23])?|adobe\s+firefly|stable[\s_-]?diffusion|sdxl|"
    r"google[\s-]imagen|imagen-\d\.\d-(?:fast-)?generate|imagegeneration@\d{3}|novelai|comfyui|invokeai|"
    r"automatic1111|leonardo\.ai|ideogram(?:\.ai|\s+ai)|flux\.1|bing image creator|craiyon|dreamstudio|"
    r"gpt-4o image|gemini[\s-]\d(?:\.\d)?[\s-](?:flash|pro)[\s-]image)\b",
    re.IGNORECASE,
)
GENERATION_CHUNKS = {
    "parameters": "AUTOMATIC1111/Forge generation parameters",
    "prompt": "ComfyUI prompt graph",
    "workflow": "ComfyUI workflow",
    "invokeai_metadata": "InvokeAI metadata",
    "sd-metadata": "InvokeAI metadata",
    "Dream": "InvokeAI (dream) command",
}
EXIF_SOFTWARE, EXIF_MAKE, EXIF_MODEL, EXIF_DESCRIPTION, EXIF_ARTIST = 0x0131, 0x010F, 0x0110, 0x010E, 0x013B
EXIF_IFD, EXIF_DATETIME_ORIGINAL, EXIF_USER_COMMENT = 0x8769, 0x9003, 0x9286
DST_RE = re.compile(r"DigitalSourceType(?:>|=\"|\s*=\s*')\s*(?:[^<\"']*/)?([A-Za-z]+)")
CREATOR_TOOL_RE = re.compile(r"CreatorTool(?:>|=\")([^<\"]{0,200})")


def _text(v) -> str:
    if isinstance(v, bytes):
        v = v.split(b"\0", 1)[0] if v[:8] not in (b"ASCII\0\0\0", b"UNICODE\0") else v[8:]
        return v.decode("utf-8", "replace").strip("\0 ")
    return str(v).strip()


def _png_chunks(img: Image.Image) -> list[Finding]:
    findings = []
    text = getattr(img, "text", None) if img.format == "PNG" else None
    for key, value in (text or {}).items():
        if key == XMP_KEY:
            continue  # parsed as XMP below
        value = _text(value)[:MAX_SCAN_CHARS]
        if key in GENERATION_CHUNKS:
            looks_right = key != "parameters" or ("Steps:" in value or "Sampler:" in value or "Seed:" in value)
            if looks_right:
                findings.append(
                    Finding("metadata", f"PNG '{key}' chunk: {GENERATION_CHUNKS[key]}", "strong", "ai", value)
                )
                continue
        if key not in GENERATION_CHUNKS:  # any other text: Software, Comment, Description, ...
            m = GENERATORS.search(value) or GENERATORS.search(key)
            if m:
                strong = key == "Software"
                findings.append(
                    Finding(
                        "metadata",
                        f"PNG '{key}' names generator '{m.group(0)}'",
                        "strong" if strong else "moderate",
                        "ai",
                        value,
                    )
                )
    return findings


def _xmp(img: Image.Image) -> list[Finding]:
    raw = img.info.get("xmp") or img.info.get(XMP_KEY) or (getattr(img, "text", {}) or {}).get(XMP_KEY)
    if not raw:
        return []
    if len(raw) > MAX_XMP_BYTES:
        return [Finding("metadata", f"XMP packet too large to parse ({len(raw):,} bytes)", "invalid")]
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace")
    body = data.strip(b"\0 \r\n\t")
    start = body.find(b"<x:xmpmeta")
    end = body.rfind(b"</x:xmpmeta>")
    try:
        ET.fromstring(body[start : end + len(b"</x:xmpmeta>")] if start >= 0 and end > start else body)
    except ET.ParseError as e:
        return [Finding("metadata", "XMP present but malformed: not trusted", "invalid", None, f"{e}")]
    text = data.decode("utf-8", "replace")
    findings = []
    for dst in dict.fromkeys(DST_RE.findall(text)):
        kind, points_to, meaning = describe(dst)
        strength = {"ai": "moderate", "capture": "weak", "human": "weak"}.get(kind, "none")
        findings.append(
            Finding("metadata", f"XMP IPTC DigitalSourceType {dst}: {meaning} (unsigned)", strength, points_to, dst)
        )
    for tool in CREATOR_TOOL_RE.findall(text):
        m = GENERATORS.search(tool)
        if m:
            findings.append(
                Finding("metadata", f"XMP CreatorTool names generator '{m.group(0)}'", "moderate", "ai", tool)
            )
    return findings


def _exif(img: Image.Image) -> list[Finding]:
    exif = img.getexif()
    if not exif:
        return []
    findings = []
    software = _text(exif.get(EXIF_SOFTWARE, ""))
    if software and (m := GENERATORS.search(software)):
        findings.append(Finding("metadata", f"EXIF Software names generator '{m.group(0)}'", "strong", "ai", software))
    sub = exif.get_ifd(EXIF_IFD)
    for tag, name in ((EXIF_DESCRIPTION, "ImageDescription"), (EXIF_ARTIST, "Artist")):
        value = _text(exif.get(tag, ""))
        if value and (m := GENERATORS.search(value)):
            findings.append(Finding("metadata", f"EXIF {name} names generator '{m.group(0)}'", "moderate", "ai", value))
    comment = _text(sub.get(EXIF_USER_COMMENT, ""))
    if comment and (m := GENERATORS.search(comment) or ("Steps:" in comment and "Sampler:" in comment)):
        label = m.group(0) if isinstance(m, re.Match) else "generation parameters"
        findings.append(Finding("metadata", f"EXIF UserComment holds {label}", "strong", "ai", comment))
    make, model = _text(exif.get(EXIF_MAKE, "")), _text(exif.get(EXIF_MODEL, ""))
    taken = _text(sub.get(EXIF_DATETIME_ORIGINAL, ""))
    if make or model:
        findings.append(
            Finding(
                "metadata",
                f"camera EXIF: {make} {model}".strip() + (f", taken {taken}" if taken else ""),
                "weak",
                "real",
                f"Make={make!r} Model={model!r} DateTimeOriginal={taken!r}",
            )
        )
    if software and not GENERATORS.search(software):
        findings.append(Finding("metadata", f"EXIF Software: {software}", "none", None, software))
    return findings


def _comment(img: Image.Image) -> list[Finding]:
    comment = img.info.get("comment")
    if comment and (m := GENERATORS.search(_text(comment))):
        return [Finding("metadata", f"file comment names generator '{m.group(0)}'", "moderate", "ai", _text(comment))]
    return []


def inspect_metadata(img: Image.Image) -> list[Finding]:
    """Findings from an opened (not necessarily decoded) image's metadata."""
    findings = []
    for rule in (_png_chunks, _xmp, _exif, _comment):
        try:
            findings += rule(img)
        except Exception as e:  # malformed metadata is evidence of nothing, and never a crash
            findings.append(
                Finding(
                    "metadata",
                    f"{rule.__name__.strip('_')} metadata unreadable",
                    "invalid",
                    None,
                    f"{type(e).__name__}: {e}",
                )
            )
    return findings
