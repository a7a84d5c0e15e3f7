"""The rows of a dataset: images and captions, as dataclasses with a JSON form.

A caption is keyed by (image id, language, source, n): `n` numbers the captions one source
gives one image in one language (Flickr30k has five per image). A machine translation keeps
the key of its original except for the language and a source ending in `+mt`, so each original
has at most one translation per language and re-translating is a no-op.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from vidsearch.data.errors import DatasetError
from vidsearch.text import normalize_persian

TRANSLATED_SUFFIX = "+mt"
IMAGE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")

CaptionKey = tuple[str, str, str, int]


class Split(StrEnum):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


class Rejection(StrEnum):
    """Why the similarity filter dropped a translation."""

    EMPTY = "empty"  # the translator answered nothing
    UNTRANSLATED = "untranslated"  # the answer is the original text
    SCRIPT = "script"  # no letter of the target language's script
    SIMILARITY = "similarity"  # below the threshold, or outside the top fraction


def clean_caption(text: str, language: str) -> str:
    """Whitespace collapsed; Persian in vidsearch's canonical spelling (`normalize_persian`)."""
    if language == "fa":
        return normalize_persian(text)
    return " ".join(text.split())


def image_id_for(source: str, original_id: object) -> str:
    """A file-safe image id: `<source>-<original id>` with unsafe characters replaced."""
    raw = f"{source}-{original_id}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._-")[:128]
    return safe or "image"


def _check(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise DatasetError(f"invalid {what} {value!r} (expected {pattern.pattern})")
    return value


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image file of the dataset, `file` relative to the dataset directory."""

    image_id: str
    file: str
    sha256: str
    width: int
    height: int
    source: str
    split: Split | None = None
    url: str | None = None  # where it came from: a web address or the original file name

    def __post_init__(self) -> None:
        _check(self.image_id, IMAGE_ID_PATTERN, "image id")
        _check(self.source, SOURCE_PATTERN, "source")
        if self.split is not None and not isinstance(self.split, Split):
            object.__setattr__(self, "split", _split(self.split))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["split"] = self.split.value if self.split else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageRecord:
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True)
class CaptionRecord:
    """One caption of one image. Translations carry their original and, once filtered, their
    similarity to it and whether they are kept."""

    image_id: str
    language: str
    source: str
    n: int
    caption: str
    translator: str | None = None
    translated_from: str | None = None  # the original's language
    original: str | None = None  # the original's text
    similarity: float | None = None
    keep: bool = True
    rejection: Rejection | None = None

    def __post_init__(self) -> None:
        _check(self.image_id, IMAGE_ID_PATTERN, "image id")
        _check(self.language, LANGUAGE_PATTERN, "language code")
        _check(self.source, SOURCE_PATTERN, "source")
        if not isinstance(self.n, int) or self.n < 0:
            raise DatasetError(f"invalid caption number {self.n!r}: expected an integer >= 0")
        if not isinstance(self.caption, str):
            raise DatasetError(f"caption of {self.image_id} is not text: {self.caption!r}")
        if self.rejection is not None and not isinstance(self.rejection, Rejection):
            object.__setattr__(self, "rejection", Rejection(self.rejection))

    @property
    def key(self) -> CaptionKey:
        return (self.image_id, self.language, self.source, self.n)

    @property
    def is_translation(self) -> bool:
        return self.translated_from is not None

    def translation_key(self, language: str) -> CaptionKey:
        """The key this caption's translation into `language` has."""
        return (self.image_id, language, self.source + TRANSLATED_SUFFIX, self.n)

    def with_changes(self, **changes: Any) -> CaptionRecord:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejection"] = self.rejection.value if self.rejection else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaptionRecord:
        return cls(**_known(cls, data))


def _split(value: object) -> Split:
    try:
        return Split(value)
    except ValueError:
        choices = ", ".join(s.value for s in Split)
        raise DatasetError(f"invalid split {value!r} (expected one of {choices})") from None


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields of `cls` in `data` (newer optional fields are ignored); missing ones named."""
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING}
    missing = sorted(required - data.keys())
    if missing:
        raise DatasetError(f"{cls.__name__} row lacks {', '.join(missing)}: {data!r}"[:300])
    return {k: v for k, v in data.items() if k in names}
