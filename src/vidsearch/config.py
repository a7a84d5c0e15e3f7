"""Settings: one object, read from flags and `VIDSEARCH_*` environment variables.

Built at the edge (CLI, service) and passed down; nothing below reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidsearch.types import DecodeMode, EncoderBackend

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
DEFAULT_INTERVAL_S = 2.0
DEFAULT_BATCH_SIZE = 32
DEFAULT_TOP_K = 10
DEFAULT_COLLECTION = "vidsearch_frames"
COLLECTION_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"


def default_home() -> Path:
    return platformdirs.user_data_path("vidsearch", appauthor=False)


def default_cache() -> Path:
    return platformdirs.user_cache_path("vidsearch", appauthor=False)


class Settings(BaseSettings):
    """Where the index lives and how videos are sampled and embedded."""

    model_config = SettingsConfigDict(env_prefix="VIDSEARCH_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data directory")
    model: str | None = Field(
        None,
        description="Model bundle name (clip-b32, multilingual-b32, clipfa), bundle directory, "
        "or CLIP Hugging Face id / local directory; default: the model that built the index, "
        f"or {DEFAULT_MODEL} (= clip-b32) for a new index",
    )
    interval: float = Field(DEFAULT_INTERVAL_S, gt=0, description="Max seconds between samples")
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1, le=1024)
    decode: DecodeMode = Field(DecodeMode.FAST, description="fast: skip non-reference frames")
    shot_detector: Literal["structure", "histogram", "none"] = Field(
        "structure",
        description="How cuts are found: structure (default: hard cuts, dissolves, fades; "
        "benchmarks/README.md), histogram (the old colour-histogram detector), none",
    )
    threads: int | None = Field(None, ge=1, description="CPU threads for inference")
    workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Decoder processes (videos are cut at keyframes and decoded in parallel); "
        "default: the usable cores; 1: decode in the indexing process",
    )
    backend: EncoderBackend = Field(EncoderBackend.AUTO, description="Encoder runtime")
    int8: bool = Field(False, description="int8-quantised image tower (ONNX; faster, ~1e-3 off)")
    cache_dir: Path = Field(default_factory=default_cache, description="ONNX exports live here")
    qdrant_url: str | None = Field(
        None,
        description="Qdrant server (http(s)://host:6333): keep vectors and catalog there, "
        "shared by many machines, instead of in the data directory",
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key for the Qdrant server")
    collection: str = Field(
        DEFAULT_COLLECTION,
        pattern=COLLECTION_PATTERN,
        description="Qdrant collection of the frames (the catalog is `<collection>_videos`)",
    )
    subtitles: bool = Field(
        True, description="Index videos' subtitles (sidecar files and streams) for dialogue search"
    )
    dialogue_model: str | None = Field(
        None,
        description="Sentence-transformers model (hub id or directory) embedding subtitle lines "
        "and dialogue queries; default: the one that indexed the dialogue, or "
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
    )

    @field_validator("qdrant_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"qdrant_url must start with http:// or https://, not {url!r}")
        return url

    def model_for(self, index_model_ref: str | None) -> str:
        """The model to use with an index built by `index_model_ref` (None: a new index)."""
        return self.model or index_model_ref or DEFAULT_MODEL

    def dialogue_model_for(self, index_dialogue_ref: str | None) -> str:
        """The sentence encoder for dialogue indexed with `index_dialogue_ref` (None: none yet)."""
        from vidsearch.dialogue.encoder import DEFAULT_DIALOGUE_MODEL

        return self.dialogue_model or index_dialogue_ref or DEFAULT_DIALOGUE_MODEL

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def thumbnails_dir(self) -> Path:
        return self.home / "thumbnails"

    @property
    def lock_path(self) -> Path:
        return self.home / "index.lock"
