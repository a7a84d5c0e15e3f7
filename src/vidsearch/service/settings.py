"""Service settings, from `VIDSEARCH_*` environment variables (the core Settings hold the rest)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vidsearch.service.hardening import DEFAULT_IDLE_TIMEOUT_S, DEFAULT_MIN_BYTES_PER_S

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024**3
DEFAULT_MAX_IMAGE_BYTES = 20 * 1024**2
INCOMING_DIR_NAME = ".incoming"  # uploads being received, inside `DataDir.uploads`


class ServiceSettings(BaseSettings):
    """Who may write, what it may read from its own disk, and how large uploads may be."""

    model_config = SettingsConfigDict(env_prefix="VIDSEARCH_", extra="ignore")

    api_key: SecretStr | None = Field(
        None, description="Key required for uploads and deletes; unset: writes are refused"
    )
    protect_reads: bool = Field(False, description="Require the API key for searches too")
    max_upload_bytes: int = Field(DEFAULT_MAX_UPLOAD_BYTES, ge=1, description="Largest video")
    max_image_bytes: int = Field(DEFAULT_MAX_IMAGE_BYTES, ge=1, description="Largest query image")
    body_idle_timeout_s: float = Field(
        DEFAULT_IDLE_TIMEOUT_S, gt=0, description="An upload that sends nothing this long gets 408"
    )
    body_min_bytes_per_s: int = Field(
        DEFAULT_MIN_BYTES_PER_S, ge=0, description="Slowest average upload rate accepted"
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins other web sites may call the API from (JSON: ["https://a.b"]); '
        "none by default: CORS is off",
    )
    public_url: str | None = Field(
        None,
        description="The server's address as its users reach it (https://search.example.org): "
        "the absolute URLs in responses start with it; unset: the address the request's "
        "connection came in on (never the Host header)",
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "
        "(comma-separated addresses or networks); none by default: the headers are ignored",
    )
    media_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders on the server's disk whose videos `POST /videos/local` may index "
        "(colon-separated: /srv/films:/media/tv); none by default: only uploads are indexed",
    )

    @field_validator("media_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        """`VIDSEARCH_MEDIA_ROOTS` is a list of folders like PATH (os.pathsep between them)."""
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_ips(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"not an http(s) address like https://search.example.org: {value}")
        return value.strip().rstrip("/")
