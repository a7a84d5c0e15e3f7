"""Settings: one object, read from flags and `VIDSEARCH_*` environment variables.

Built at the edge (CLI, service) and passed down; nothing below reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidsearch.errors import ConfigError
from vidsearch.types import DecodeMode, EncoderBackend

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
# dialogue: 50+ languages, Persian among them; 384-d, ~470 MB. Any sentence-transformers model.
DEFAULT_DIALOGUE_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
# Whisper size transcribing speech while indexing (faster-whisper names it; a hub id or a folder
# works too): the largest that keeps indexing faster than real time on 2 cores (benchmarks/).
DEFAULT_ASR_MODEL = "base"
DEFAULT_OCR_LANGUAGES = "eng+fas"  # Tesseract's names, joined by "+"
DEFAULT_INTERVAL_S = 2.0
DEFAULT_BATCH_SIZE = 32
DEFAULT_TOP_K = 10
DEFAULT_COLLECTION = "vidsearch_frames"
COLLECTION_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"


@dataclass(frozen=True, slots=True)
class DataDir:
    """Every path of a data directory (VIDSEARCH_HOME), named once::

        home/
          index.lock                 who holds the index (one process at a time)
          catalog.sqlite             videos, their state, the model that built the index
          catalog.sqlite-wal, -shm   SQLite's journal beside it
          index/                     the frame shard (Qdrant Edge: vectors + payload)
          dialogue/                  the subtitle cue shard (made by the first subtitled video)
          thumbnails/<video id>/<pts>.jpg
          uploads/                   videos sent to the service (`.incoming/` while received)
          staging/                   videos fetched by the ingest DAG
          pipelines/<name>/          work folders of the training pipelines
          demo/                      `vidsearch demo`'s own data directory
          mlflow/                    `vidsearch mlflow-server`'s tracking store and artifacts
          index.damaged-<time>/      a shard `vidsearch doctor --repair` moved aside
          dialogue.damaged-<time>/     (likewise)
          catalog.damaged-<time>.sqlite  a catalog repair salvaged rows from
          replaced-<time>/           the index `vidsearch restore --force` replaced
          .restore-<time>/           a restore being unpacked
          restore-failed-<time>/     a restore that did not check out, kept for a look

    A snapshot folder has the index's parts (catalog, shards, thumbnails) laid out the same
    way, plus `manifest.json`. With a Qdrant server (VIDSEARCH_QDRANT_URL) only thumbnails,
    uploads and staging are used here.
    """

    home: Path

    LOCK = "index.lock"
    CATALOG = "catalog.sqlite"
    FRAMES = "index"
    DIALOGUE = "dialogue"
    THUMBNAILS = "thumbnails"
    UPLOADS = "uploads"
    STAGING = "staging"
    PIPELINES = "pipelines"
    DEMO = "demo"
    MLFLOW = "mlflow"
    MANIFEST = "manifest.json"
    # the files and folders that make up the index (what a snapshot copies and restore replaces)
    CATALOG_FILES = (CATALOG, f"{CATALOG}-wal", f"{CATALOG}-shm")
    SHARDS = (FRAMES, DIALOGUE)
    INDEX_PARTS = (*CATALOG_FILES, *SHARDS, THUMBNAILS)

    @property
    def lock(self) -> Path:
        return self.home / self.LOCK

    @property
    def catalog(self) -> Path:
        return self.home / self.CATALOG

    @property
    def frames_shard(self) -> Path:
        return self.home / self.FRAMES

    @property
    def dialogue_shard(self) -> Path:
        return self.home / self.DIALOGUE

    @property
    def thumbnails(self) -> Path:
        return self.home / self.THUMBNAILS

    @property
    def uploads(self) -> Path:
        return self.home / self.UPLOADS

    @property
    def staging(self) -> Path:
        return self.home / self.STAGING

    @property
    def demo(self) -> Path:
        return self.home / self.DEMO

    @property
    def mlflow(self) -> Path:
        """`vidsearch mlflow-server`'s store and artifacts, unless given a folder."""
        return self.home / self.MLFLOW

    @property
    def manifest(self) -> Path:
        """A snapshot's manifest (a snapshot folder is laid out as a data directory)."""
        return self.home / self.MANIFEST

    def pipeline_workdir(self, name: str) -> Path:
        return self.home / self.PIPELINES / name

    def part(self, name: str) -> Path:
        """One of INDEX_PARTS."""
        return self.home / name

    def damaged(self, path: Path, stamp: str) -> Path:
        """Where repair moves a damaged shard (a folder) or catalog (a file) aside."""
        if path.suffix:
            return path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
        return path.with_name(f"{path.name}.damaged-{stamp}")

    def replaced(self, stamp: str) -> Path:
        return self.home / f"replaced-{stamp}"

    def restore_staging(self, stamp: str) -> Path:
        return self.home / f".restore-{stamp}"

    def restore_failed(self, stamp: str) -> Path:
        return self.home / f"restore-failed-{stamp}"


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
    speech: Literal["auto", "all", "off"] = Field(
        "auto",
        description="Transcribe speech while indexing: auto = videos without subtitles, "
        "all = every video with sound, off",
    )
    asr_model: str = Field(
        DEFAULT_ASR_MODEL,
        min_length=1,
        description="Whisper model transcribing speech: a size (tiny, base, small...), a hub id "
        "or a local folder (CTranslate2 for faster-whisper, or a transformers checkpoint)",
    )
    asr_language: str | None = Field(
        None, description="Language of the speech (ISO 639-1, e.g. fa, en); default: detected"
    )
    screen_text: bool = Field(
        True, description="Read text written on screen (Tesseract OCR) while indexing"
    )
    ocr_languages: str = Field(
        DEFAULT_OCR_LANGUAGES,
        pattern=r"^[a-z_]+(\+[a-z_]+)*$",
        description="Tesseract languages reading on-screen text, joined by + (eng+fas)",
    )
    dialogue_model: str | None = Field(
        None,
        description="Sentence-transformers model (hub id or directory) embedding subtitle lines "
        "and dialogue queries; default: the one that indexed the dialogue, or "
        f"{DEFAULT_DIALOGUE_MODEL}",
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
        return self.dialogue_model or index_dialogue_ref or DEFAULT_DIALOGUE_MODEL

    @property
    def data_dir(self) -> DataDir:
        """The paths of the data directory `home`."""
        return DataDir(self.home)


def make_settings(**overrides: object) -> Settings:
    """Settings from `VIDSEARCH_*` and these overrides (None values are left to the
    environment and the defaults), or ConfigError naming what is invalid."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']} (got {e['input']!r})"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None
