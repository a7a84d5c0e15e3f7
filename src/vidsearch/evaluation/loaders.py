"""Retrieval test sets: images and their captions, from the published formats or vidsearch's
own dataset format.

- Flickr30k (or COCO) in Karpathy's split file (`dataset_flickr30k.json`, or a translated
  one such as Flickr30k-fa's): the images of one split (`test`: the standard 1K test set,
  5 captions each);
- NoCaps / MS-COCO caption annotations (`nocaps_val_4500_captions.json`,
  `captions_val2017.json`): every image of the file;
- a vidsearch dataset directory (`docs/data.md`): one split, captions in one language
  (Persian ones where the dataset has them; rejected translations left out).

A caption file names no language: its captions are in the `language` given, else in the
language most of them are written in, told by their script (`detect_language`). A dataset
directory labels each caption itself.

**Identical captions.** Retrieval is scored per distinct caption text (`queries`): a text
that several images share is one query, and any of those images is a hit (`relevance`),
the rule of `vidsearch.train.metrics` (`train proof`, the training runs' Recall@k).

Parsing is `vidsearch.data.importers`' (the same files `vidsearch data import-*` reads).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vidsearch.data.records import Split
from vidsearch.evaluation.errors import EvaluationError
from vidsearch.text.language import ENGLISH, UNDETERMINED, detect_language

if TYPE_CHECKING:
    from vidsearch.data.importers import SourceImage

DEFAULT_SPLIT = Split.TEST


@dataclass(frozen=True, slots=True)
class Caption:
    text: str
    image: int  # index into RetrievalSet.images
    language: str
    number: int = 0  # among its image's captions in the source (a dataset's `n`)


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

    @property
    def queries(self) -> tuple[str, ...]:
        """The distinct caption texts, in order: each is one text→image query."""
        return tuple(dict.fromkeys(c.text for c in self.captions))

    def relevance(self) -> np.ndarray:
        """The queries × images boolean matrix: a query is relevant to every image that has
        that exact caption (identical captions cannot be told apart by any ranking)."""
        row = {text: i for i, text in enumerate(self.queries)}
        matrix = np.zeros((len(row), len(self.images)), dtype=bool)
        for caption in self.captions:
            matrix[row[caption.text], caption.image] = True
        return matrix

    def first_queries(self) -> np.ndarray:
        """The query row of each image's first caption, image by image (Acc@k's pairs)."""
        row = {text: i for i, text in enumerate(self.queries)}
        first: dict[int, int] = {}
        for caption in self.captions:
            first.setdefault(caption.image, row[caption.text])
        return np.array([first[i] for i in range(len(self.images))], dtype=np.int64)

    def main_language(self) -> str:
        """The language to evaluate when none is asked: the only one, else English where
        there is English, else the language of most captions."""
        if ENGLISH in self.languages and len(self.languages) > 1:
            return ENGLISH
        return Counter(c.language for c in self.captions).most_common(1)[0][0]

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

    def first_captions(self) -> RetrievalSet:
        """Each image with its first caption only (the lowest number): what training with
        `captions: first` and `train proof` measure."""
        first: dict[int, Caption] = {}
        for caption in self.captions:
            if caption.image not in first or caption.number < first[caption.image].number:
                first[caption.image] = caption
        return _build(self.name, self.images, self.image_ids, list(first.values()))

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
        tuple(Caption(c.text, new[c.image], c.language, c.number) for c in captions),
    )


def script_language(texts: Iterable[str]) -> str:
    """The language most of `texts` are written in, by script; an EvaluationError when no
    text has letters to tell it by."""
    votes = Counter(detect_language(text) for text in texts)
    votes.pop(UNDETERMINED, None)
    if not votes:
        raise EvaluationError(
            "cannot tell the captions' language from their letters: give it (--lang)"
        )
    return votes.most_common(1)[0][0]


def _from_sources(
    name: str,
    items: Iterable[SourceImage],
    images_dir: Path,
    split: Split | None,
    language: str | None,
) -> RetrievalSet:
    images, ids, texts = [], [], []
    for item in items:
        if split is not None and item.split != split:
            continue
        index = len(images)
        images.append(images_dir / item.file)
        ids.append(item.original_id)
        texts += [(text, index, n) for n, text in enumerate(item.captions) if text.strip()]
    if not images:
        raise EvaluationError(f"{name} has no images in the split '{split}'")
    if not texts:
        raise EvaluationError(f"{name} has no captions in the split '{split}'")
    language = language or script_language(text for text, _, _ in texts)
    captions = [Caption(text, index, language, n) for text, index, n in texts]
    missing = [str(p) for p in images if not p.is_file()]
    if missing:
        raise EvaluationError(
            f"{len(missing)} image files of {name} are missing (first: {missing[0]}); "
            "is --images the folder of the dataset's images?"
        )
    return _build(name, images, ids, captions)


def load_karpathy(
    path: Path,
    images_dir: Path,
    split: Split | None = DEFAULT_SPLIT,
    language: str | None = None,
) -> RetrievalSet:
    """Karpathy's split file (Flickr30k: `test` is the standard 1K test set), its captions in
    `language` (None: the language of their script)."""
    from vidsearch.data.importers import parse_karpathy

    items = parse_karpathy(Path(path))  # a malformed file raises DataError
    name = f"{Path(path).name}:{split or 'all'}"
    return _from_sources(name, items, Path(images_dir), split, language)


def load_coco(path: Path, images_dir: Path, language: str | None = None) -> RetrievalSet:
    """NoCaps or MS-COCO caption annotations: every image of the file, its captions in
    `language` (None: the language of their script)."""
    from vidsearch.data.importers import parse_coco

    items = parse_coco(Path(path))
    return _from_sources(Path(path).name, items, Path(images_dir), None, language)


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
            Caption(c.caption, index[c.image_id], c.language, c.n)
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
    JSON file with `annotations` is COCO / NoCaps, one with `images[].sentences` Karpathy's.
    `language`: a dataset's captions in that language (None: all); a caption file's captions
    are in it (None: told by their script)."""
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
        return load_coco(path, images, language)
    if isinstance(data, dict) and isinstance(data.get("images"), list):
        return load_karpathy(path, images, split, language)
    raise EvaluationError(
        f"{path} is neither Karpathy's split file nor COCO / NoCaps caption annotations"
    )
