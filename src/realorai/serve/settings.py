"""Server settings: from REALORAI_* environment variables (or a .env file), overridable by
``realorai serve`` options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from realorai import limits

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _sendable_key(key: str) -> str:
    """A key a client can send in an HTTP header: visible ASCII, no spaces at its ends. A newline
    left by `echo` or a non-ASCII letter would make every request 401 (or match other bytes)."""
    if key != key.strip():
        raise ValueError("the API key starts or ends with white space (a newline from a file?): remove it")
    bad = sorted({c for c in key if not (0x21 <= ord(c) <= 0x7E)})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:5])
        raise ValueError(f"the API key holds characters an HTTP header cannot carry ({shown}): use visible ASCII")
    return key


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REALORAI_", env_file=".env", extra="ignore", frozen=True)

    model: str | None = Field(None, description="Run folder, checkpoint or .onnx; the shipped detector when unset.")
    backend: Literal["auto", "torch", "onnx"] = "auto"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    api_key: SecretStr | None = Field(None, description="When set, /v1/* needs it in the X-API-Key header.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file accepted.")
    max_request_mb: float = Field(50.0, gt=0, description="Largest request body accepted.")
    max_files: int = Field(16, ge=1, description="Most files in one request.")
    max_pixels: int = Field(
        default_factory=lambda: limits.from_env().max_pixels, ge=1, description="Larger images are refused unread."
    )
    max_decoded_mb: float = Field(
        default_factory=lambda: limits.from_env().max_decoded_bytes / 1e6,
        gt=0,
        description="Decoded pixels held at once, all requests together; an image needing more is refused.",
    )
    body_timeout_s: float = Field(30.0, gt=0, description="A request body must arrive within this long.")
    min_body_rate_kbps: float = Field(
        8.0, ge=0, description="After the first 5 s, a body arriving slower than this (kB/s) is cut off (408)."
    )
    max_readers: int = Field(128, ge=1, description="Request bodies being received at once.")
    header_timeout_s: float = Field(10.0, gt=0, description="A request's line and headers must arrive within this.")
    max_connections: int = Field(
        256, ge=1, description="Open connections at once (capped by the file-descriptor limit); more get 503."
    )
    max_request_pixels: int = Field(
        240_000_000, ge=1, description="Pixels declared by all the images of one request; the files past it get 422."
    )
    max_buffered_mb: float = Field(400.0, gt=0, description="Upload bytes held in memory, all requests together.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the server answers to (default: loopback names when bound to loopback).",
    )
    queue_size: int = Field(32, ge=1, description="Requests admitted at once; more get 503 with Retry-After.")
    workers: int = Field(1, ge=1, description="Inference threads (one per ~2 cores is plenty).")
    retry_after_s: int = Field(2, ge=1)
    c2pa_trust: str | None = Field(None, description="PEM trust anchors file; 'none' turns trust checks off.")
    bank: str | None = Field(None, description="A bank file (realorai bank): copies of its pictures match.")
    bank_learn: bool = Field(False, description="Bank each upload whose verified content credential decided it.")
    refit_every: int = Field(
        20, ge=0, le=100_000,
        description="Refit a stream in the background after this many new confirmations through the API (0: never).",
    )  # fmt: skip
    api_key_name: str = Field(
        "API key holder", min_length=1, max_length=100,
        description="Who confirms, when the page's Confirm as AI / real banks an image (needs REALORAI_API_KEY).",
    )  # fmt: skip

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, v):
        # REALORAI_API_KEY= in a .env file is "no key", never a key that an empty header matches.
        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        if raw is None or not str(raw).strip():
            return None
        return _sendable_key(str(raw))

    @field_validator("host")
    @classmethod
    def _host_given(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("empty host: give an address to bind, e.g. 127.0.0.1 or 0.0.0.0")
        return v.strip()

    def check_exposure(self) -> None:
        """Refuse to expose an unauthenticated API beyond this machine."""
        if self.host not in LOOPBACK and self.api_key is None:
            raise ValueError(
                f"binding to {self.host} would expose the API to the network without a key; "
                "set REALORAI_API_KEY (clients send it in the X-API-Key header), or bind to 127.0.0.1"
            )
