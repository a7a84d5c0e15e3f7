"""Retrieval test sets: images and their captions, from the published formats or vidsearch's
own dataset format.

- Flickr30k (or COCO) in Karpathy's split file (`dataset_flickr30k.json`): the images of one
  split (`test`: the standard 1K test set, 5 captions each), captions in English;
- NoCaps / MS-COCO caption annotations (`nocaps_val_4500_captions.json`,
  `captions_val2017.json`): every image of the file, English;
- a vidsearch dataset directory (`docs/data.md`): one split, captions in one language
  (Persian ones where the dataset has them; rejected translations left out).

Parsing is `vidsearch.data.importers`' (the same files `vidsearch data import-*` reads).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vidsearch.data.records import Split
from vidsearch.evaluation.errors import EvaluationError

if TYPE_CHECKING:
    from vidsearch.data.importers import SourceImage

DEFAULT_SPLIT = Split.TEST


@dataclass(frozen=True, slots=True)
class Caption:
    text: str
    image: int  # index into RetrievalSet.images
    language: str


@dataclass(frozen=True, slots=True)
class RetrievalSet:
    """A gallery of images and the captions that describe them (each caption, one image)."""

    name: str
    images: tuple[Path, ...]
    image_ids: tuple[str, ...]
    captions: tuple[Caption, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.language for c in self.captions))

    def in_language(self, language: str) -> RetrievalSet:
        """Only captions in `language`, and only the images they describe (every image then
        has a ground truth caption, so it can be an image→text query)."""
        captions = [c for c in self.captions if c.language == language]
        if not captions:
            raise EvaluationError(
                f"{self.name} has no captions in '{language}' "
                f"(it has: {', '.join(self.languages) or 'none'})"
            )
        return _build(self.name, self.images, self.image_ids, captions)

    def limit(self, images: int) -> RetrievalSet:
        """The first `images` images and their captions (a quick look at a big set)."""
        keep = [c for c in self.captions if c.image < images]
        return _build(self.name, self.images[:images], self.image_ids[:images], keep)


def _build(
    name: str, images: Sequence[Path], ids: Sequence[str], captions: Sequence[Caption]
) -> RetrievalSet:
    used = sorted({c.image for c in captions})
    new = {old: new for new, old in enumerate(used)}
    return RetrievalSet(
        name,
        tuple(images[i] for i in used),
        tuple(ids[i] for i in used),
        tuple(Caption(c.text, new[c.image], c.language) for c in captions),
    )


def _from_sources(
    name: str, items: Iterable[SourceImage], images_dir: Path, split: Split | None
) -> RetrievalSet:
    images, ids, captions = [], [], []
    for item in items:
        if split is not None and item.split != split:
            continue
        index = len(images)
        images.append(images_dir / item.file)
        ids.append(item.original_id)
        captions += [Caption(text, index, "en") for text in item.captions if text.strip()]
    if not images:
        raise EvaluationError(f"{name} has no images in the split '{split}'")
    missing = [str(p) for p in images if not p.is_file()]
    if missing:
        raise EvaluationError(
            f"{len(missing)} image files of {name} are missing (first: {missing[0]}); "
            "is --images the folder of the dataset's images?"
        )
    return _build(name, images, ids, captions)


def load_karpathy(
    path: Path, images_dir: Path, split: Split | None = DEFAULT_SPLIT
) -> RetrievalSet:
    """Karpathy's split file (Flickr30k: `test` is the standard 1K test set)."""
    from vidsearch.data.importers import parse_karpathy

    items = parse_karpathy(Path(path))  # a malformed file raises DataError
    return _from_sources(f"{Path(path).name}:{split or 'all'}", items, Path(images_dir), split)


def load_coco(path: Path, images_dir: Path) -> RetrievalSet:
    """NoCaps or MS-COCO caption annotations: every image of the file."""
    from vidsearch.data.importers import parse_coco

    items = parse_coco(Path(path))
    return _from_sources(Path(path).name, items, Path(images_dir), None)


def load_dataset(
    directory: Path, split: Split | None = DEFAULT_SPLIT, language: str | None = None
) -> RetrievalSet:
    """A vidsearch dataset directory: `split`'s images, captions in `language` (None: all)."""
    from vidsearch.data.dataset import Dataset

    dataset = Dataset.open(Path(directory))
    try:
        records = dataset.images(split=split)
        index = {r.image_id: i for i, r in enumerate(records)}
        captions = [
            Caption(c.caption, index[c.image_id], c.language)
            for c in dataset.captions(language=language, split=split)
            if c.image_id in index
        ]
        images = [dataset.root / r.file for r in records]
        ids = [r.image_id for r in records]
    finally:
        dataset.close()
    name = f"{dataset.manifest.get('name') or Path(directory).name}:{split or 'all'}"
    if not captions:
        raise EvaluationError(f"{name} has no captions" + (f" in '{language}'" if language else ""))
    return _build(name, images, ids, captions)


def load(
    path: Path,
    *,
    images: Path | None = None,
    split: Split | None = DEFAULT_SPLIT,
    language: str | None = None,
) -> RetrievalSet:
    """Any of the three, told apart by their content: a directory is a vidsearch dataset; a
    JSON file with `annotations` is COCO / NoCaps, one with `images[].sentences` Karpathy's."""
    path = Path(path)
    if path.is_dir():
        return load_dataset(path, split, language)
    if images is None:
        raise EvaluationError(f"{path} is a caption file: give its images' folder (--images)")
    try:
        with path.open("rb") as file:
            data = json.load(file)
    except FileNotFoundError:
        raise EvaluationError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvaluationError(f"{path} is not a readable JSON file ({exc})") from None
    if isinstance(data, dict) and "annotations" in data:
        result = load_coco(path, images)
    elif isinstance(data, dict) and isinstance(data.get("images"), list):
        result = load_karpathy(path, images, split)
    else:
        raise EvaluationError(
            f"{path} is neither Karpathy's split file nor COCO / NoCaps caption annotations"
        )
    return result.in_language(language) if language else result
