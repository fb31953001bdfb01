"""Server settings: from REALORAI_* environment variables (or a .env file), overridable by
``realorai serve`` options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from realorai.imaging import DEFAULT_MAX_PIXELS

LOOPBACK = ("127.0.0.1", "localhost", "::1")


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
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=1, description="Larger images are refused before decoding.")
    queue_size: int = Field(32, ge=1, description="Requests admitted at once; more get 503 with Retry-After.")
    workers: int = Field(1, ge=1, description="Inference threads (one per ~2 cores is plenty).")
    retry_after_s: int = Field(2, ge=1)
    c2pa_trust: str | None = Field(None, description="PEM trust anchors file; 'none' turns trust checks off.")

    def check_exposure(self) -> None:
        """Refuse to expose an unauthenticated API beyond this machine."""
        if self.host not in LOOPBACK and self.api_key is None:
            raise ValueError(
                f"binding to {self.host} would expose the API to the network without a key; "
                "set REALORAI_API_KEY (clients send it in the X-API-Key header), or bind to 127.0.0.1"
            )
