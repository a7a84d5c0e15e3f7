"""What a training run leaves: a vidsearch bundle directory, usable as --model anywhere.

    bundle/bundle.json     the bundle definition (vidsearch.encoders.bundles)
    bundle/text-fa/        the trained text encoder (sentence-transformers layout)   kind text
    bundle/clip/           the trained CLIP (Hugging Face layout)                   kind clip
    bundle/training.json   how it was made: config, metrics, image identity, library versions

A text bundle refers to its image encoder where it is (a hub id, or a local directory); the
copy logged to MLflow is made self-contained (`self_contained`): local models are copied in.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidsearch.encoders.bundles import (
    BundleSpec,
    ImageEncoderSpec,
    TextEncoderSpec,
    TowerFormat,
    read_bundle,
    write_bundle,
)
from vidsearch.train.config import TrainConfig

if TYPE_CHECKING:
    from transformers import CLIPModel, PreTrainedTokenizerFast

    from vidsearch.train.checkpoint import Progress
    from vidsearch.train.student import Student

TRAINING_MANIFEST = "training.json"
TRAINING_FORMAT = "vidsearch-training"
TRAINING_VERSION = 1
CLIP_FOLDER = "clip"
LIBRARIES = ("vidsearch", "torch", "transformers", "sentence-transformers", "tokenizers")


def text_folder(language: str) -> str:
    return f"text-{language}"


def text_bundle_writer(
    name: str, source: BundleSpec, language: str
) -> Callable[[Path, Student], None]:
    """Writes the student ahead of `source`'s text encoders, over `source`'s image encoder."""

    def write(directory: Path, student: Student) -> None:
        folder = student.save(directory / text_folder(language))
        spec = BundleSpec(
            name,
            source.image,
            (
                TextEncoderSpec(
                    TowerFormat.SENTENCE_TRANSFORMERS, str(folder.absolute()), (language,)
                ),
                *source.texts,
            ),
            f"a {language} text encoder trained by vidsearch into the image space of "
            f"'{source.image.ref}'",
        )
        write_bundle(directory, spec)

    return write


def clip_bundle_writer(
    name: str, language: str
) -> Callable[[Path, CLIPModel, PreTrainedTokenizerFast], None]:
    def write(directory: Path, model: CLIPModel, tokenizer: PreTrainedTokenizerFast) -> None:
        from vidsearch.train.clip_task import save_clip

        folder = save_clip(model, tokenizer, directory / CLIP_FOLDER).absolute()
        spec = BundleSpec(
            name,
            ImageEncoderSpec(TowerFormat.CLIP, str(folder)),
            (TextEncoderSpec(TowerFormat.CLIP, str(folder), (language,)),),
            "a tiny CLIP trained from scratch by vidsearch",
        )
        write_bundle(directory, spec)

    return write


def write_training_manifest(
    directory: Path,
    config: TrainConfig,
    progress: Progress,
    *,
    image_identity: str,
) -> Path:
    data: dict[str, Any] = {
        "format": TRAINING_FORMAT,
        "version": TRAINING_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": str(config.kind),
        "image_identity": image_identity,
        "best_epoch": progress.best_epoch,
        "metrics": progress.best,
        "history": progress.history,
        "mlflow_run_id": progress.run_id,
        "seconds": round(progress.seconds, 3),
        "config": config.model_dump(mode="json"),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }
    path = directory / TRAINING_MANIFEST
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def self_contained(bundle_dir: Path, destination: Path) -> Path:
    """A copy of `bundle_dir` with every local model it refers to copied inside (hub ids stay
    references), so it can be opened on another machine."""
    spec = read_bundle(bundle_dir)
    shutil.copytree(bundle_dir, destination)
    inside = bundle_dir.resolve()
    copies: dict[Path, str] = {}

    def localise(ref: str, folder: str) -> str:
        path = Path(ref)
        if not path.is_dir():
            return ref  # a hub id
        resolved = path.resolve()
        if resolved.is_relative_to(inside):
            return str(destination / resolved.relative_to(inside))
        if resolved not in copies:
            name = f"{folder}-{len(copies)}" if copies else folder
            shutil.copytree(resolved, destination / name)
            copies[resolved] = str(destination / name)
        return copies[resolved]

    image = replace(spec.image, ref=localise(spec.image.ref, "image"))
    texts = tuple(replace(t, ref=localise(t.ref, "text")) for t in spec.texts)
    write_bundle(destination, replace(spec, image=image, texts=texts))
    return destination
