"""The API's bodies as OpenAPI schemas: the documentation at /docs, never a second copy of the
rows (those are built by ``inference.rows``; these models only describe them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from realorai.inference.rows import BASES, VERDICTS


class Finding(BaseModel):
    source: str = Field(description="c2pa | watermark | metadata")
    what: str = Field(description="One line a moderator can read.")
    strength: str = Field(description="strong | moderate | weak | invalid | none (docs/PROVENANCE.md)")
    points_to: Literal["ai", "real"] | None
    value: str | dict = Field(
        description="The raw value, truncated to 300 characters; an object where it is structured: a bank match "
        "({entry, distance, evidence, label, variant, name, box}), a C2PA credential ({state, failures, "
        "source_types}). Schema version 3: an object, where version 2 held it as JSON text."
    )


class Heatmap(BaseModel):
    boxes: list[list[int]] = Field(description="Regions scored, [left, top, right, bottom] in image pixels.")
    p_ai: list[float] = Field(description="P(AI) of each region.")
    png: str = Field(description="The overlay as a PNG data URI.")


class Row(BaseModel):
    """One image's result: the same keys as ``realorai predict --json`` prints, plus ``error_status``."""

    schema_version: int = Field(
        3, description="The row schema's version (3: findings[].value is an object where structured)."
    )
    path: str = Field(description="The upload's file name.")
    verdict: Literal[VERDICTS] = Field(  # type: ignore[valid-type]
        description="ai / real: verified provenance decided. likely_ai / likely_real / inconclusive: the pixel "
        "tier decided (or nothing could). error: the file could not be checked."
    )
    basis: Literal[BASES] = Field(description="What decided: provenance, pixels or none.")  # type: ignore[valid-type]
    tier: Literal["likely_ai", "inconclusive", "likely_real"] | None = Field(
        description="The pixel score's own tier, shown even when provenance decides; null without a score."
    )
    p_ai: float | None = Field(description="The pixel detector's P(AI), calibrated on sources it never saw.")
    likely_ai_from: float | None = Field(description="P(AI) from which the tier is likely_ai (null: no such tier).")
    likely_real_below: float | None = Field(description="P(AI) below which the tier is likely_real (null: none).")
    low_confidence: bool = Field(description="Smaller than the detector's crop: upsampled, a weaker hint.")
    findings: list[Finding] | None = Field(description="Provenance findings; null when evidence=false.")
    why: str = Field(description="One sentence: what decided the verdict.")
    reliability: str = Field(description="How right such pixel verdicts were on unseen sources ('' otherwise).")
    error: str = Field(description="Why the file could not be checked ('' when it was).")
    heatmap: Heatmap | None = Field(description="With heatmap=true: regions, their P(AI) and the overlay.")
    error_status: int | None = Field(description="HTTP status of this file's failure (400/413/415/422), else null.")


class DetectResponse(BaseModel):
    model: str
    schema_version: int = 3
    results: list[Row]


class ErrorDetail(BaseModel):
    status: int
    message: str = Field(description="What went wrong, in one sentence.")
    file: str | None = Field(description="The file it concerns, when one does.")


class ErrorBody(BaseModel):
    """Every error has this body; when no file of a request could be checked, the rows come too."""

    error: ErrorDetail
    results: list[Row] | None = Field(None, description="When no file could be checked: each file's row.")


def _error(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


DETECT_RESPONSES = {
    200: {"model": DetectResponse, "description": "One row per image, in upload order."},
    400: _error("The body is not well-formed multipart (the message says what is wrong)."),
    401: _error("Missing or wrong API key (X-API-Key)."),
    403: _error("A cross-site POST to a server without a key."),
    408: _error("The body was not received in time, or arrived too slowly."),
    413: _error("A file, the request or the number of files is over its limit."),
    415: _error("Not an image, or a format not accepted (judged from the bytes)."),
    421: _error("A host name the server does not answer to."),
    422: _error("A decompression bomb, an image over the decode budget, or one that cannot be decoded."),
    503: _error("The server is full: retry after Retry-After seconds."),
}

DETECT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Images (any field name is accepted; 'files' here).",
                        }
                    },
                    "required": ["files"],
                }
            }
        },
    }
}
