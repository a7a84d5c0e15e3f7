"""Model bundles: one image encoder and the text encoders trained into its space.

A frame index is bound to one image encoder (its identity); any text encoder aligned with that
image encoder can query it. A bundle names that pairing, with the languages each text encoder
reads, in order of preference. Bundles come from four places, tried in this order:

1. the shipped registry `BUNDLES`, by name (`clip-b32`, `multilingual-b32`, `clipfa`);
2. a local bundle directory holding a `bundle.json` manifest (models trained by vidsearch);
3. a bundle registered in MLflow, `models:/NAME/VERSION` or `models:/NAME@ALIAS`, downloaded
   once into the cache (`registered.py`);
4. a folder of published ONNX CLIP towers (`onnx-clip.json`, see `onnx_towers.py`), or a CLIP
   checkpoint (hub id or directory): its own image and English text tower.

This module only describes and validates; `model_bundle.open_bundle` loads.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from vidsearch.config import DEFAULT_MODEL, default_cache
from vidsearch.encoders.onnx_towers import TOWERS_MANIFEST
from vidsearch.encoders.registered import fetch_registered_bundle, is_registered
from vidsearch.errors import ConfigError
from vidsearch.text.language import ENGLISH, PERSIAN, UNDETERMINED

MANIFEST = "bundle.json"
MANIFEST_VERSION = 1
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z]{2,4})?$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


class TowerFormat(StrEnum):
    """How a tower's files are laid out and run; a closed set (no classes named in files)."""

    CLIP = "clip"  # a CLIPModel checkpoint: image and text towers, run by ONNX Runtime or torch
    CLIP_VISION = "clip-vision"  # a CLIPVisionModel checkpoint: its pooled output (CLIPfa)
    SENTENCE_TRANSFORMERS = "sentence-transformers"  # a text model saved by sentence-transformers
    POOLED_TEXT = "pooled-text"  # a Hugging Face text encoder's pooler output (CLIPfa's RoBERTa)
    ONNX_CLIP = "onnx-clip"  # CLIP's towers as ONNX files + manifest: no PyTorch (onnx_towers.py)


IMAGE_FORMATS = frozenset({TowerFormat.CLIP, TowerFormat.CLIP_VISION, TowerFormat.ONNX_CLIP})
TEXT_FORMATS = frozenset(
    {
        TowerFormat.CLIP,
        TowerFormat.SENTENCE_TRANSFORMERS,
        TowerFormat.POOLED_TEXT,
        TowerFormat.ONNX_CLIP,
    }
)


@dataclass(frozen=True, slots=True)
class ImageEncoderSpec:
    format: TowerFormat
    ref: str  # Hugging Face id or model directory


@dataclass(frozen=True, slots=True)
class TextEncoderSpec:
    format: TowerFormat
    ref: str
    languages: tuple[str, ...]  # ISO 639-1 codes this encoder reads well

    def reads(self, language: str) -> bool:
        return language in self.languages or language.split("-")[0] in self.languages


@dataclass(frozen=True, slots=True)
class BundleSpec:
    name: str
    image: ImageEncoderSpec
    texts: tuple[TextEncoderSpec, ...]  # in order of preference for a language both read
    description: str = ""

    @property
    def languages(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for text in self.texts:
            seen.update(dict.fromkeys(text.languages))
        return tuple(seen)

    def text_for(self, language: str) -> TextEncoderSpec | None:
        """The best text encoder for `language`; an undetermined one goes to the first."""
        if language == UNDETERMINED:
            return self.texts[0]
        return next((t for t in self.texts if t.reads(language)), None)

    def to_json(self) -> dict[str, object]:
        """The `bundle.json` fields (without the version)."""
        return {
            "name": self.name,
            "description": self.description,
            "image": {"format": str(self.image.format), "ref": self.image.ref},
            "texts": [
                {"format": str(t.format), "ref": t.ref, "languages": list(t.languages)}
                for t in self.texts
            ],
        }

    def validate(self) -> BundleSpec:
        """Raise ConfigError naming the first problem; return self when there is none."""
        where = f"model bundle '{self.name}'"
        if self.image.format not in IMAGE_FORMATS:
            raise ConfigError(f"{where}: '{self.image.format}' is not an image encoder format")
        if not self.image.ref:
            raise ConfigError(f"{where}: the image encoder has no ref")
        if not self.texts:
            raise ConfigError(f"{where}: no text encoder")
        for text in self.texts:
            if text.format not in TEXT_FORMATS:
                raise ConfigError(f"{where}: '{text.format}' is not a text encoder format")
            if not text.ref:
                raise ConfigError(f"{where}: a text encoder has no ref")
            bad = [code for code in text.languages if not _LANGUAGE_CODE.match(code)]
            if not text.languages or bad:
                raise ConfigError(
                    f"{where}: text encoder '{text.ref}' needs ISO 639-1 language codes "
                    f"(got {list(text.languages)})"
                )
        return self


# -- the shipped bundles ----------------------------------------------------------------
CLIP_B32 = DEFAULT_MODEL  # "openai/clip-vit-base-patch32"
MULTILINGUAL_B32_TEXT = "sentence-transformers/clip-ViT-B-32-multilingual-v1"
CLIPFA_VISION = "SajjadAyoubi/clip-fa-vision"
CLIPFA_TEXT = "SajjadAyoubi/clip-fa-text"
# The languages its model card lists (Multilingual Knowledge Distillation, 50+ languages).
MULTILINGUAL_B32_LANGUAGES = tuple(
    "ar bg ca cs da de el en es et fa fi fr gl gu he hi hr hu hy id it ja ka ko ku lt lv mk mn "
    "mr ms my nb nl pl pt ro ru sk sl sq sr sv th tr uk ur vi zh".split()
)
DEFAULT_BUNDLE = "clip-b32"

_CLIP_B32_IMAGE = ImageEncoderSpec(TowerFormat.CLIP, CLIP_B32)
_CLIP_B32_TEXT = TextEncoderSpec(TowerFormat.CLIP, CLIP_B32, (ENGLISH,))
BUNDLES: Mapping[str, BundleSpec] = MappingProxyType(
    {
        spec.name: spec.validate()
        for spec in (
            BundleSpec(
                "clip-b32",
                _CLIP_B32_IMAGE,
                (_CLIP_B32_TEXT,),
                "OpenAI CLIP ViT-B/32, English",
            ),
            BundleSpec(
                "multilingual-b32",
                _CLIP_B32_IMAGE,
                (
                    _CLIP_B32_TEXT,
                    TextEncoderSpec(
                        TowerFormat.SENTENCE_TRANSFORMERS,
                        MULTILINGUAL_B32_TEXT,
                        MULTILINGUAL_B32_LANGUAGES,
                    ),
                ),
                "clip-b32 + a multilingual text student (Persian and 50 more languages); "
                "searches clip-b32 indexes as they are",
            ),
            BundleSpec(
                "clipfa",
                ImageEncoderSpec(TowerFormat.CLIP_VISION, CLIPFA_VISION),
                (TextEncoderSpec(TowerFormat.POOLED_TEXT, CLIPFA_TEXT, (PERSIAN,)),),
                "CLIPfa, the Persian CLIP pair (needs its own index)",
            ),
        )
    }
)
# Hub ids that mean a shipped bundle (the default model's id is the default bundle).
ALIASES: Mapping[str, str] = MappingProxyType({CLIP_B32: DEFAULT_BUNDLE})


def clip_bundle(ref: str, format: TowerFormat = TowerFormat.CLIP) -> BundleSpec:
    """A CLIP checkpoint (or its ONNX towers) used alone: its image and English text tower."""
    return BundleSpec(
        ref,
        ImageEncoderSpec(format, ref),
        (TextEncoderSpec(format, ref, (ENGLISH,)),),
        "a CLIP checkpoint: English" if format is TowerFormat.CLIP else "ONNX CLIP towers: English",
    )


def resolve_bundle(ref: str, *, cache_dir: Path | None = None) -> BundleSpec:
    """The bundle `ref` means: a shipped name, a bundle directory, a registered bundle
    (downloaded into `cache_dir`, default vidsearch's cache), or a CLIP checkpoint."""
    ref = ref.strip()
    if is_registered(ref):
        return read_bundle(fetch_registered_bundle(ref, cache_dir or default_cache()))
    if ref in BUNDLES:
        return BUNDLES[ref]
    if ref in ALIASES:
        return BUNDLES[ALIASES[ref]]
    path = Path(ref).expanduser()
    if (path / MANIFEST).is_file():
        return read_bundle(path)
    if (path / TOWERS_MANIFEST).is_file():
        return clip_bundle(ref, TowerFormat.ONNX_CLIP)
    if ref and "/" not in ref and "\\" not in ref and not path.exists():
        close = difflib.get_close_matches(ref, list(BUNDLES), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            f"unknown model bundle '{ref}': {hint}the bundles are {', '.join(BUNDLES)}; "
            "or give a Hugging Face id (org/name), a model directory or a bundle directory"
        )
    return clip_bundle(ref)


def bundles_reading(language: str) -> list[BundleSpec]:
    """Shipped bundles with a text encoder for `language`, the registry's order."""
    return [spec for spec in BUNDLES.values() if spec.text_for(language) is not None]


# -- bundle directories -----------------------------------------------------------------
def read_bundle(directory: Path) -> BundleSpec:
    """Read `directory/bundle.json`; relative refs name folders inside `directory`."""
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the bundle manifest {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        raise ConfigError(
            f"{path}: not a version {MANIFEST_VERSION} bundle manifest "
            f"(version {data.get('version') if isinstance(data, dict) else None!r})"
        )
    try:
        image = data["image"]
        spec = BundleSpec(
            str(data.get("name") or directory.name),
            ImageEncoderSpec(_format(image["format"]), _ref(directory, image["ref"])),
            tuple(
                TextEncoderSpec(
                    _format(text["format"]),
                    _ref(directory, text["ref"]),
                    tuple(str(code) for code in text["languages"]),
                )
                for text in data["texts"]
            ),
            str(data.get("description", "")),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: missing or malformed field {exc}") from None
    return spec.validate()


def write_bundle(directory: Path, spec: BundleSpec) -> Path:
    """Write `spec` as `directory/bundle.json` (refs inside `directory` stored relative)."""
    spec.validate()
    directory.mkdir(parents=True, exist_ok=True)

    def ref(value: str) -> str:
        path = Path(value)
        if path.is_absolute() and path.resolve().is_relative_to(directory.resolve()):
            return path.resolve().relative_to(directory.resolve()).as_posix()
        return value

    relative = replace(
        spec,
        image=replace(spec.image, ref=ref(spec.image.ref)),
        texts=tuple(replace(t, ref=ref(t.ref)) for t in spec.texts),
    )
    data = {"version": MANIFEST_VERSION, **relative.to_json()}
    path = directory / MANIFEST
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def _format(value: object) -> TowerFormat:
    try:
        return TowerFormat(str(value))
    except ValueError:
        known = ", ".join(f.value for f in TowerFormat)
        raise ConfigError(f"unknown tower format '{value}' (known: {known})") from None


def _ref(directory: Path, value: object) -> str:
    """A folder inside the bundle directory if there is one by that name, else as written."""
    ref = str(value)
    inside = directory / ref
    return str(inside) if ref and not Path(ref).is_absolute() and inside.is_dir() else ref


def is_hub_id(ref: str) -> bool:
    """Whether `ref` has the shape of a Hugging Face model id (org/name)."""
    return bool(_HUB_ID.match(ref))
