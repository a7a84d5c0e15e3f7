"""CLIP towers published as ONNX files (format `onnx-clip`): run with no PyTorch at all.

A tower directory (local, or a Hugging Face repository laid out the same way) holds:

    onnx-clip.json            the manifest below (or vidsearch ships it, see PUBLISHED)
    onnx/vision_model.onnx    the image tower: pixel values -> projected embedding
    onnx/text_model.onnx      the text tower: token ids (and mask) -> projected embedding
    tokenizer.json            read by the `tokenizers` library (tokenizer_config.json: padding)
    preprocessor_config.json  the image mean and std

The manifest names the files, their input and output names, the vector size, the tokens per
text, the image size and, optionally, the image space (`identity`) the towers belong to: a
manifest written by `write_onnx_towers` from a vidsearch export says `clip:<weights
fingerprint>`, the identity of the PyTorch checkpoint it came from, so an index built with
those weights and one built from these files are one space. Without an `identity` the towers
are their own space, named by the image file's content (`clip-onnx:<fingerprint>`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from vidsearch.encoders.loading import LocatedModel, locate_model
from vidsearch.encoders.preprocess import CLIP_SIZE, PreprocessConfig
from vidsearch.errors import ModelError
from vidsearch.fingerprint import file_fingerprint

TOWERS_MANIFEST = "onnx-clip.json"
TOWERS_VERSION = 1
CONFIG_PATTERNS = ("*.json", "*.txt")  # manifest, tokenizer, preprocessing (never weights)
TEXT_INPUTS = frozenset({"input_ids", "attention_mask"})


@dataclass(frozen=True, slots=True)
class OnnxTower:
    """One ONNX file, relative to the tower directory, with the names it is run by."""

    file: str
    inputs: tuple[str, ...]
    output: str

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "inputs": list(self.inputs), "output": self.output}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> OnnxTower:
        inputs = data["inputs"]
        if not isinstance(inputs, list):
            raise TypeError("inputs")
        return cls(str(data["file"]), tuple(str(name) for name in inputs), str(data["output"]))


@dataclass(frozen=True, slots=True)
class TowersManifest:
    """What `onnx-clip.json` says (see the module docstring)."""

    image: OnnxTower
    text: OnnxTower
    dim: int
    text_length: int = 77
    image_size: int = CLIP_SIZE
    identity: str | None = None
    image_int8: OnnxTower | None = None
    tokenizer: str = "tokenizer.json"
    preprocessor: str = "preprocessor_config.json"
    description: str = field(default="", compare=False)

    def files(self, *, int8: bool = False) -> list[str]:
        """The files the towers need (with the int8 image tower instead of the fp32 one)."""
        image = self.image_int8 if int8 and self.image_int8 is not None else self.image
        return [image.file, self.text.file, self.tokenizer]

    def check(self, where: str) -> TowersManifest:
        """Raise ModelError naming the first problem; return self when there is none."""
        if len(self.image.inputs) != 1:
            raise ModelError(f"{where}: the image tower takes one input, not {self.image.inputs}")
        if "input_ids" not in self.text.inputs or not set(self.text.inputs) <= TEXT_INPUTS:
            raise ModelError(
                f"{where}: the text tower's inputs must be input_ids (and attention_mask), "
                f"not {list(self.text.inputs)}"
            )
        if self.dim < 1 or self.text_length < 2 or self.image_size < 1:
            raise ModelError(f"{where}: dim, text_length and image_size must be positive")
        return self

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "version": TOWERS_VERSION,
            "format": "onnx-clip",
            "description": self.description,
            "identity": self.identity,
            "dim": self.dim,
            "text_length": self.text_length,
            "image_size": self.image_size,
            "image": self.image.to_json(),
            "text": self.text.to_json(),
            "tokenizer": self.tokenizer,
            "preprocessor": self.preprocessor,
        }
        if self.image_int8 is not None:
            data["image_int8"] = self.image_int8.to_json()
        return data

    @classmethod
    def read(cls, directory: Path) -> TowersManifest:
        path = directory / TOWERS_MANIFEST
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the ONNX towers manifest {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != TOWERS_VERSION:
            raise ModelError(f"{path}: not a version {TOWERS_VERSION} ONNX towers manifest")
        try:
            int8 = data.get("image_int8")
            manifest = cls(
                image=OnnxTower.from_json(data["image"]),
                text=OnnxTower.from_json(data["text"]),
                dim=int(data["dim"]),
                text_length=int(data.get("text_length", 77)),
                image_size=int(data.get("image_size", CLIP_SIZE)),
                identity=data.get("identity") or None,
                image_int8=OnnxTower.from_json(int8) if int8 else None,
                tokenizer=str(data.get("tokenizer", "tokenizer.json")),
                preprocessor=str(data.get("preprocessor", "preprocessor_config.json")),
                description=str(data.get("description", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: missing or malformed field {exc}") from None
        return manifest.check(str(path))

    def write(self, directory: Path) -> Path:
        path = directory / TOWERS_MANIFEST
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path


# -- published towers vidsearch knows -----------------------------------------------------
# Xenova's conversion of openai/clip-vit-base-patch32 (transformers.js layout: the towers with
# their projections, CLIPVisionModelWithProjection and CLIPTextModelWithProjection). Its text
# tower takes no attention mask: CLIP pools at the first end-of-text token under a causal mask,
# so the padding after it never reaches the pooled vector. No vidsearch manifest in that
# repository, so it ships here; no `identity`: its image space is named by its own file.
CLIP_B32_ONNX = "Xenova/clip-vit-base-patch32"
PUBLISHED: Mapping[str, TowersManifest] = MappingProxyType(
    {
        CLIP_B32_ONNX: TowersManifest(
            image=OnnxTower("onnx/vision_model.onnx", ("pixel_values",), "image_embeds"),
            text=OnnxTower("onnx/text_model.onnx", ("input_ids",), "text_embeds"),
            image_int8=OnnxTower(
                "onnx/vision_model_quantized.onnx", ("pixel_values",), "image_embeds"
            ),
            dim=512,
            description="OpenAI CLIP ViT-B/32 towers in ONNX (Xenova's export)",
        ),
    }
)


class OnnxClipTowers(LocatedModel):
    """An `onnx-clip` tower directory (local or hub id), located on first use.

    A hub id downloads the manifest and configs first, then only the ONNX files the manifest
    names (a repository often holds many variants)."""

    def __init__(self, model_ref: str) -> None:
        super().__init__(model_ref)
        self._manifest: TowersManifest | None = None

    def _published(self) -> TowersManifest | None:
        return PUBLISHED.get(self.model_ref.strip())

    @property
    def manifest(self) -> TowersManifest:
        if self._manifest is None:
            directory = self.locate().directory
            if (directory / TOWERS_MANIFEST).is_file():
                self._manifest = TowersManifest.read(directory)
            elif (published := self._published()) is not None:
                self._manifest = published
            else:
                raise ModelError(
                    f"model '{self.model_ref}' has no {TOWERS_MANIFEST}: not a folder of ONNX "
                    "CLIP towers (vidsearch export-onnx writes one)"
                )
        return self._manifest

    def locate(self, *, int8: bool = False):  # -> ModelFiles
        """The directory, with the tower files for `int8` or not downloaded."""
        if self._files is None:
            published = self._published()
            needed = published.files(int8=int8) if published is not None else []
            self._files = locate_model(
                self.model_ref,
                patterns=(*CONFIG_PATTERNS, *needed),
                marker=None,
                needed=needed,
            )
        files = self._files
        manifest = self._manifest
        if manifest is None and (files.directory / TOWERS_MANIFEST).is_file():
            manifest = TowersManifest.read(files.directory)
        wanted = manifest.files(int8=int8) if manifest is not None else []
        missing = [name for name in wanted if not (files.directory / name).is_file()]
        if missing and not Path(self.model_ref).expanduser().is_dir():
            self._files = files = locate_model(
                self.model_ref, patterns=(*CONFIG_PATTERNS, *wanted), marker=None, needed=wanted
            )
        return files

    @property
    def files(self):  # -> ModelFiles
        return self.locate()

    def check(self, *, int8: bool = False) -> TowersManifest:
        """Locate the towers and check every file they need is there; return the manifest."""
        directory = self.locate(int8=int8).directory
        manifest = self.manifest
        missing = [name for name in manifest.files(int8=int8) if not (directory / name).is_file()]
        if missing:
            raise ModelError(f"ONNX towers '{self.model_ref}': missing {', '.join(missing)}")
        return manifest

    @property
    def identity(self) -> str:
        manifest = self.manifest
        if manifest.identity:
            return manifest.identity
        image = self.locate().directory / manifest.image.file
        if not image.is_file():
            raise ModelError(f"ONNX towers '{self.model_ref}': missing {manifest.image.file}")
        return f"clip-onnx:{file_fingerprint(image, digest_size=8)}"

    def preprocess_config(self) -> PreprocessConfig:
        path = self.files.directory / self.manifest.preprocessor
        data = json.loads(path.read_text()) if path.is_file() else {}
        return PreprocessConfig.from_processor_json(data, self.manifest.image_size)


def write_onnx_towers(
    export: Path, checkpoint: Path, target: Path, manifest: TowersManifest
) -> Path:
    """Lay a vidsearch export out as published towers: the ONNX files of `export` (a folder
    `export_onnx` wrote) into `target/onnx/`, the tokenizer and preprocessing files of the
    `checkpoint` directory beside them, and `manifest` (whose files name `onnx/...`)."""
    (target / "onnx").mkdir(parents=True, exist_ok=True)
    int8 = [manifest.image_int8] if manifest.image_int8 is not None else []
    for tower in [manifest.image, manifest.text, *int8]:
        shutil.copyfile(export / Path(tower.file).name, target / tower.file)
    for name in (
        manifest.tokenizer,
        "tokenizer_config.json",
        "special_tokens_map.json",
        manifest.preprocessor,
    ):
        if (checkpoint / name).is_file():
            shutil.copyfile(checkpoint / name, target / name)
    manifest.write(target)
    return target


def exported_manifest(
    *, identity: str, dim: int, text_length: int, image_size: int, int8: bool
) -> TowersManifest:
    """The manifest of a vidsearch export laid out by `write_onnx_towers`."""
    from vidsearch.encoders.onnx_export import (
        IMAGE_INT8_ONNX,
        IMAGE_ONNX,
        OUTPUT,
        TEXT_ONNX,
    )

    image = OnnxTower(f"onnx/{IMAGE_ONNX}", ("pixel_values",), OUTPUT)
    return TowersManifest(
        image=image,
        text=OnnxTower(f"onnx/{TEXT_ONNX}", ("input_ids", "attention_mask"), OUTPUT),
        image_int8=replace(image, file=f"onnx/{IMAGE_INT8_ONNX}") if int8 else None,
        dim=dim,
        text_length=text_length,
        image_size=image_size,
        identity=identity,
        description="exported by vidsearch from a CLIP checkpoint",
    )
