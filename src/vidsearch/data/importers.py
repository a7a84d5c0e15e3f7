"""Import published caption datasets: Flickr30k (Karpathy's `dataset_flickr30k.json` or the
original `results_20130124.token`) and MS-COCO / NoCaps (`captions_*.json` annotations).

Each parser turns its file into `SourceImage`s (file name, original id, split, captions);
`import_images` copies the images into the dataset and upserts their captions. Rerunning an
import changes nothing; an interrupted one resumes (images already stored are not copied
again). Missing or unreadable image files are listed in the report, never fatal.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vidsearch.data.dataset import Dataset
from vidsearch.data.errors import DataError, SourceFormatError
from vidsearch.data.progress import NoProgress, Progress
from vidsearch.data.records import CaptionRecord, Split, image_id_for

KARPATHY_SPLITS = {"train": Split.TRAIN, "restval": Split.TRAIN, "val": Split.VALIDATION}
KARPATHY_SPLITS |= {"test": Split.TEST}
_TOKEN_LINE = re.compile(r"^(?P<file>[^#\t]+)#(?P<n>\d+)\t(?P<caption>.*)$")


@dataclass(frozen=True, slots=True)
class SourceImage:
    """One image as a published caption file lists it."""

    file: str  # relative to the images directory
    original_id: str
    captions: tuple[str, ...]
    split: Split | None = None


@dataclass(slots=True)
class ImportReport:
    images: int = 0  # stored (new or changed)
    unchanged: int = 0  # already in the dataset
    captions: int = 0  # added or changed
    missing: list[str] = field(default_factory=list)  # image files not found
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "unchanged": self.unchanged,
            "captions": self.captions,
            "missing": self.missing,
            "failed": [{"file": f, "error": e} for f, e in self.failed],
        }


def _load_json(path: Path) -> Any:
    try:
        with path.open("rb") as file:
            return json.load(file)
    except FileNotFoundError:
        raise SourceFormatError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceFormatError(f"{path} is not a readable JSON file ({exc})") from None


def _require(mapping: Any, key: str, path: Path, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise SourceFormatError(f"{path}: {where} has no {key!r}")
    return mapping[key]


def parse_karpathy(path: Path, *, split: Split | None = None) -> list[SourceImage]:
    """Karpathy's split files (`dataset_flickr30k.json`, also `dataset_coco.json`):
    {"images": [{"filename", "imgid", "split", "sentences": [{"raw"}], ["filepath"]}]}.
    `split` overrides the file's own splits (train, restval -> train; val; test)."""
    data = _load_json(path)
    images = _require(data, "images", path, "the file")
    if not isinstance(images, list):
        raise SourceFormatError(f"{path}: 'images' is not a list")
    result = []
    for number, entry in enumerate(images):
        where = f"images[{number}]"
        filename = _require(entry, "filename", path, where)
        sentences = _require(entry, "sentences", path, where)
        if not isinstance(sentences, list):
            raise SourceFormatError(f"{path}: {where}.sentences is not a list")
        captions = tuple(str(_require(s, "raw", path, f"{where}.sentences")) for s in sentences)
        folder = entry.get("filepath")
        file = f"{folder}/{filename}" if folder else str(filename)
        own = KARPATHY_SPLITS.get(entry.get("split", ""))
        # ids from the file name, as the COCO importer makes them: one image, one id
        result.append(SourceImage(file, Path(str(filename)).stem, captions, split or own))
    return result


def parse_flickr_token(path: Path, *, split: Split | None = None) -> list[SourceImage]:
    """Flickr30k's original `results_20130124.token`: `<file>.jpg#<n>\\t<caption>` lines."""
    captions: dict[str, dict[int, str]] = defaultdict(dict)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SourceFormatError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceFormatError(f"{path} is not a readable text file ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        match = _TOKEN_LINE.match(line)
        if not match:
            raise SourceFormatError(
                f"{path}:{number} is not '<image>#<n><TAB><caption>': {line[:80]!r}"
            )
        captions[match["file"]][int(match["n"])] = match["caption"]
    return [
        SourceImage(file, Path(file).stem, tuple(by_n[n] for n in sorted(by_n)), split)
        for file, by_n in captions.items()
    ]


def parse_coco(path: Path, *, split: Split | None = None) -> list[SourceImage]:
    """MS-COCO / NoCaps caption annotations: {"images": [{"id", "file_name"}],
    "annotations": [{"image_id", "id", "caption"}]}. The split comes from `split`, else from
    the file name (`captions_train2017.json` -> train, `..._val...` -> validation)."""
    data = _load_json(path)
    images = _require(data, "images", path, "the file")
    annotations = _require(data, "annotations", path, "the file")
    by_image: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
    for number, note in enumerate(annotations):
        where = f"annotations[{number}]"
        image_id = _require(note, "image_id", path, where)
        caption = _require(note, "caption", path, where)
        by_image[image_id].append((note.get("id", number), str(caption)))
    split = split or _split_from_name(path.name)
    result = []
    for number, entry in enumerate(images):
        where = f"images[{number}]"
        image_id = _require(entry, "id", path, where)
        file = str(_require(entry, "file_name", path, where))
        notes = sorted(by_image.get(image_id, []), key=lambda pair: str(pair[0]).zfill(20))
        result.append(SourceImage(file, Path(file).stem, tuple(c for _, c in notes), split))
    return result


def _split_from_name(name: str) -> Split | None:
    lowered = name.lower()
    for word, split in (("train", Split.TRAIN), ("val", Split.VALIDATION), ("test", Split.TEST)):
        if word in lowered:
            return split
    return None


def import_images(
    dataset: Dataset,
    items: Sequence[SourceImage],
    images_dir: Path,
    *,
    source: str,
    language: str = "en",
    progress: Progress | None = None,
) -> ImportReport:
    """Copy `items`' image files from `images_dir` into `dataset` with their captions."""
    if not images_dir.is_dir():
        raise DataError(f"image directory {images_dir} does not exist")
    progress = progress or NoProgress()
    report = ImportReport()
    progress.start(f"import {source}", len(items))
    try:
        for item in items:
            _import_one(dataset, item, images_dir, source, language, report)
            progress.advance()
    finally:
        progress.finish()
        dataset.flush()
    return report


def _import_one(
    dataset: Dataset,
    item: SourceImage,
    images_dir: Path,
    source: str,
    language: str,
    report: ImportReport,
) -> None:
    image_id = image_id_for(source, item.original_id)
    path = images_dir / item.file
    existing = dataset.image(image_id)
    if existing is not None and (dataset.root / existing.file).is_file():
        report.unchanged += 1
        if existing.split != item.split and item.split is not None:
            dataset.upsert_image(replace(existing, split=item.split))
    elif not path.is_file():
        report.missing.append(item.file)
        return
    else:
        try:
            dataset.add_image(
                image_id, path.read_bytes(), source=source, split=item.split, url=item.file
            )
        except (DataError, OSError) as exc:
            report.failed.append((item.file, str(exc)))
            return
        report.images += 1
    report.captions += dataset.upsert_captions(
        CaptionRecord(image_id, language, source, n, caption)
        for n, caption in enumerate(_clean(item.captions))
    )


def _clean(captions: Iterable[str]) -> list[str]:
    return [c.strip() for c in captions if c and c.strip()]
