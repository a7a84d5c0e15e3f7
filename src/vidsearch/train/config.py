"""The training configuration: one TOML (or JSON, or YAML) file, checked by pydantic.

    kind = "text"                 # a text encoder into a frozen image space ("clip": a tiny
    name = "vidsearch-fa"         #   CLIP from scratch, both towers); the trained bundle's name
    output = "runs/fa"            # checkpoints, caches and the trained bundle
    bundle = "clip-b32"           # kind text: the bundle whose image encoder is the target

    [data]     dataset, language, captions
    [text]     model (hub id, directory or "scratch"), max_length, distillation, scratch sizes
    [clip]     kind clip: image_size, patch_size, hidden, layers, heads, dim, vocab_size
    [optim]    epochs, batch_size, accumulation, lr, head_lr, warmup, temperature, precision
    [mlflow]   tracking_uri, experiment, registered_model, alias

Relative paths in a file are relative to the file's folder. Unknown keys are errors (a typo
must not silently train with a default). docs/training.md is the reference.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidsearch.errors import ConfigError

DEFAULT_TEXT_MODEL = "m3hrdadfi/roberta-zwnj-wnli-mean-tokens"
DEFAULT_BUNDLE = "clip-b32"
SCRATCH = "scratch"  # text.model: a small transformer initialised at random, its own tokenizer
_LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
_STRICT = ConfigDict(extra="forbid", frozen=True)


class Kind(StrEnum):
    TEXT = "text"  # fine-tune a text encoder into a frozen image encoder's space
    CLIP = "clip"  # train a tiny CLIP (image and text towers) from scratch


class Precision(StrEnum):
    AUTO = "auto"  # CUDA: bf16 if supported, else fp16; CPU: fp32 (bf16 pays only with AMX)
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"  # CUDA only (with a gradient scaler)


class CaptionChoice(StrEnum):
    ALL = "all"  # every caption of an image (one drawn per image per epoch)
    FIRST = "first"  # only caption n = 0 (the shapes world: the whole scene)


class DataConfig(BaseModel):
    model_config = _STRICT

    dataset: Path = Field(description="A vidsearch dataset directory (docs/data.md)")
    language: str = Field("fa", pattern=_LANGUAGE_PATTERN, description="Captions to train on")
    captions: CaptionChoice = CaptionChoice.ALL
    validation_split: str = Field("validation", description="Recall@k measured on it each epoch")

    @field_validator("validation_split")
    @classmethod
    def _split(cls, value: str) -> str:
        if value not in {"train", "validation", "test"}:
            raise ValueError(f"must be train, validation or test, not {value!r}")
        return value


class TextConfig(BaseModel):
    """kind = "text": the text encoder to fine-tune."""

    model_config = _STRICT

    model: str = Field(
        DEFAULT_TEXT_MODEL,
        description="Hugging Face id or directory (sentence-transformers or plain transformers "
        'layout), or "scratch"',
    )
    max_length: int = Field(64, ge=4, le=512, description="Tokens per caption")
    projection: bool = Field(
        True, description="Add a linear layer when the model's size differs from the image's"
    )
    distillation: float = Field(
        0.0, ge=0, description="Weight of the cosine distance to the teacher's text embedding"
    )
    teacher_language: str = Field(
        "en",
        pattern=_LANGUAGE_PATTERN,
        description="Parallel captions read by the bundle's "
        "text encoder for this language (the teacher)",
    )
    # model = "scratch": a BERT-style encoder and a WordPiece tokenizer trained on the captions
    hidden: int = Field(64, ge=8, le=1024)
    layers: int = Field(2, ge=1, le=24)
    heads: int = Field(4, ge=1, le=32)
    vocab_size: int = Field(1000, ge=50, le=100_000)
    dropout: float = Field(0.0, ge=0, lt=1)


class ClipConfig(BaseModel):
    """kind = "clip": the sizes of a tiny CLIP trained from scratch."""

    model_config = _STRICT

    image_size: int = Field(64, ge=16, le=512)
    patch_size: int = Field(8, ge=2, le=64)
    hidden: int = Field(64, ge=8, le=1024)
    layers: int = Field(2, ge=1, le=24)
    heads: int = Field(4, ge=1, le=32)
    dim: int = Field(64, ge=8, le=2048, description="The shared embedding size")
    vocab_size: int = Field(300, ge=50, le=100_000)
    max_length: int = Field(32, ge=4, le=77)


class OptimConfig(BaseModel):
    model_config = _STRICT

    epochs: int = Field(5, ge=1)
    batch_size: int = Field(64, ge=2, description="Pairs per step (the contrastive negatives)")
    accumulation: int = Field(1, ge=1, description="Micro-batches per optimizer step")
    lr: float = Field(5e-5, gt=0, description="Learning rate of the pretrained weights")
    head_lr: float | None = Field(
        1e-3, gt=0, description="Learning rate of new layers and the temperature (None: lr)"
    )
    weight_decay: float = Field(0.01, ge=0)
    warmup: float = Field(0.1, ge=0, lt=1, description="Fraction of the steps warming up")
    grad_clip: float | None = Field(1.0, gt=0)
    temperature: float = Field(0.07, gt=0, le=1, description="Initial contrastive temperature")
    learn_temperature: bool = True
    precision: Precision = Precision.AUTO
    threads: int | None = Field(None, ge=1, description="CPU threads for PyTorch")


class TrackingConfig(BaseModel):
    """MLflow; without a tracking_uri nothing is tracked."""

    model_config = _STRICT

    tracking_uri: str | None = Field(None, description="sqlite:///mlflow.db, http://host:5000...")
    experiment: str = "vidsearch"
    artifact_location: str | None = Field(
        None,
        description="For a new experiment only (default: `mlartifacts/` beside a sqlite "
        "store, else the server's)",
    )
    registered_model: str | None = Field(
        None, description="Register the run's bundle here when it beats the alias holder"
    )
    alias: str = Field("champion", pattern=r"^[A-Za-z0-9_\-]+$")
    run_name: str | None = None


class TrainConfig(BaseModel):
    model_config = _STRICT

    kind: Kind = Kind.TEXT
    name: str = Field("vidsearch-fa", pattern=r"^[\w.\-]+$", description="The bundle's name")
    output: Path
    seed: int = Field(0, ge=0)
    bundle: str = Field(
        DEFAULT_BUNDLE,
        description="kind text: bundle name or directory (or CLIP id) whose image encoder is "
        "the target, frozen",
    )
    data: DataConfig
    text: TextConfig = TextConfig()
    clip: ClipConfig = ClipConfig()
    optim: OptimConfig = OptimConfig()
    mlflow: TrackingConfig = TrackingConfig()

    def fingerprint(self) -> str:
        """What a checkpoint must share with the config to be resumed: everything that shapes
        the weights (not the output folder, the tracking, or the thread count)."""
        data = self.model_dump(mode="json", exclude={"output": True, "mlflow": True})
        data["optim"].pop("threads", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def flat(self) -> dict[str, str]:
        """Every setting as `section.key` -> text (the tracked run's params)."""
        out: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else key, item)
            else:
                out[prefix] = "" if value is None else str(value)

        walk("", self.model_dump(mode="json"))
        return out


def parse_config(
    data: dict[str, Any], *, base: Path | None = None, where: str = "config"
) -> TrainConfig:
    """A checked config; relative paths are made relative to `base` (a config file's folder)."""
    if base is not None:
        data = _relative_to(data, base)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{where}: {problems}") from None


def load_config(path: Path) -> TrainConfig:
    """Read a .toml, .json or .yaml/.yml training config."""
    return parse_config(read_config_data(path), where=str(path))


def read_config_data(path: Path) -> dict[str, Any]:
    """A config file's table as it is, unchecked (a caller may fill fields in first); paths in
    it made relative to its folder."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the training config {path}: {exc.strerror or exc}"
        ) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in {".yaml", ".yml"}:
            data = _yaml(text)
        else:
            raise ConfigError(f"{path}: a training config is .toml, .json or .yaml, not {suffix!r}")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of settings at the top")
    return _relative_to(data, path.parent)


def _yaml(text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            "YAML configs need PyYAML (pip install pyyaml); TOML needs nothing"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}") from None


def _relative_to(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """`output` and `data.dataset` relative to `base`; `bundle` and `text.model` too when such
    a folder exists there (else they are names or hub ids)."""

    def resolve(table: dict[str, Any], key: str, *, must_exist: bool) -> dict[str, Any]:
        value = table.get(key)
        if not isinstance(value, str) or not value or value == SCRATCH:
            return table
        if Path(value).expanduser().is_absolute():
            return table
        candidate = base / value
        return {**table, key: str(candidate)} if not must_exist or candidate.exists() else table

    data = resolve(resolve(data, "output", must_exist=False), "bundle", must_exist=True)
    if isinstance(data.get("data"), dict):
        data = {**data, "data": resolve(data["data"], "dataset", must_exist=False)}
    if isinstance(data.get("text"), dict):
        data = {**data, "text": resolve(data["text"], "model", must_exist=True)}
    return data
