"""A captioned-image dataset on disk, and the one class that reads and writes it.

    DIR/dataset.json     manifest: format, schema version, name, counts, table file names
    DIR/images.jsonl     one ImageRecord per line (id, file, sha256, size, source, split, url)
    DIR/captions.jsonl   one CaptionRecord per line, keyed by (image id, language, source, n)
    DIR/images/<id>.jpg  the image files
    DIR/cache/, DIR/reports/, DIR/crawl/   step state: translation cache, reports, crawl state

Writes are upserts: a row equal to the one stored is not written again, a changed one is
appended and the old one superseded (the last row of a key wins when reading; closing the
dataset rewrites the tables without superseded rows). So every step can be rerun or resumed
after a kill: nothing is duplicated and at most the row being written is lost. One process
writes a dataset at a time (`DIR/.lock`); any number may read it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from vidsearch.data import jsonl
from vidsearch.data.errors import DatasetError
from vidsearch.data.images import StoredImage, content_hash, write_image, write_rendered
from vidsearch.data.records import CaptionKey, CaptionRecord, ImageRecord, Split, clean_caption

FORMAT = "vidsearch-captions"
SCHEMA_VERSION = 1
MANIFEST = "dataset.json"
IMAGES_TABLE = "images.jsonl"
CAPTIONS_TABLE = "captions.jsonl"
IMAGES_DIR = "images"
LOCK_FILE = ".lock"
FLUSH_EVERY = 500  # caption rows between fsyncs


class Dataset:
    """Open with `Dataset.open(root)` (read-only) or `Dataset.open(root, writable=True,
    create=True)`; use as a context manager or call `close()`."""

    def __init__(self, root: Path, manifest: dict[str, Any], *, writable: bool) -> None:
        self.root = Path(root)
        self.manifest = manifest
        self.writable = writable
        self._images: dict[str, ImageRecord] = {}
        self._by_hash: dict[str, str] = {}
        self._captions: dict[CaptionKey, CaptionRecord] = {}
        self._superseded = 0
        self._unflushed = 0
        self._lock_fd: int | None = None
        self._image_rows = jsonl.Appender(self.root / IMAGES_TABLE)
        self._caption_rows = jsonl.Appender(self.root / CAPTIONS_TABLE)

    # ---- opening and closing -------------------------------------------------------------

    @classmethod
    def open(
        cls, root: Path, *, writable: bool = False, create: bool = False, name: str | None = None
    ) -> Dataset:
        root = Path(root)
        path = root / MANIFEST
        if path.is_file():
            manifest = _read_manifest(path)
        elif create:
            if root.exists() and not root.is_dir():
                raise DatasetError(f"{root} is a file, not a dataset directory")
            if root.is_dir() and any(p.name != LOCK_FILE for p in root.iterdir()):
                raise DatasetError(
                    f"{root} is not empty and not a vidsearch dataset (no {MANIFEST})"
                )
            now = _now()
            manifest = {"format": FORMAT, "version": SCHEMA_VERSION, "name": name or root.name}
            manifest |= {"created": now, "updated": now}
        elif root.is_dir():
            raise DatasetError(f"{root} is not a vidsearch dataset (no {MANIFEST})")
        else:
            raise DatasetError(f"no dataset at {root}")
        dataset = cls(root, manifest, writable=writable or create)
        if dataset.writable:
            root.mkdir(parents=True, exist_ok=True)
            dataset._lock()
        try:
            dataset._load()
            if dataset.writable and not path.is_file():
                dataset._write_manifest()
        except BaseException:
            dataset._unlock()
            raise
        return dataset

    def _lock(self) -> None:
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise DatasetError(
                f"the dataset {self.root} is being written by another process ({holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load(self) -> None:
        for row in jsonl.read_rows(self.root / IMAGES_TABLE):
            record = ImageRecord.from_json(row)
            self._superseded += record.image_id in self._images
            self._images[record.image_id] = record
            self._by_hash.setdefault(record.sha256, record.image_id)
        for row in jsonl.read_rows(self.root / CAPTIONS_TABLE):
            caption = CaptionRecord.from_json(row)
            self._superseded += caption.key in self._captions
            self._captions[caption.key] = caption

    def flush(self) -> None:
        """Make every write so far durable (the manifest's counts are updated by `close`)."""
        self._check_writable()
        self._image_rows.flush()
        self._caption_rows.flush()
        self._unflushed = 0

    def close(self) -> None:
        if not self.writable or self._lock_fd is None:
            return
        try:
            self._image_rows.close()
            self._caption_rows.close()
            if self._superseded:
                jsonl.rewrite(self.root / IMAGES_TABLE, (r.to_json() for r in self.images()))
                jsonl.rewrite(
                    self.root / CAPTIONS_TABLE,
                    (c.to_json() for c in self.captions(include_rejected=True)),
                )
                self._superseded = 0
            self._write_manifest()
        finally:
            self._unlock()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- images ---------------------------------------------------------------------------

    def images(self, *, split: Split | None = None, source: str | None = None) -> list[ImageRecord]:
        return [
            r
            for r in self._images.values()
            if (split is None or r.split == split) and (source is None or r.source == source)
        ]

    def image(self, image_id: str) -> ImageRecord | None:
        return self._images.get(image_id)

    def image_with_hash(self, sha256: str) -> ImageRecord | None:
        image_id = self._by_hash.get(sha256)
        return self._images.get(image_id) if image_id else None

    def image_path(self, image_id: str) -> Path:
        record = self._images.get(image_id)
        if record is None:
            raise DatasetError(f"no image {image_id!r} in {self.root}")
        return self.root / record.file

    def add_image(
        self,
        image_id: str,
        data: bytes | Image.Image,
        *,
        source: str,
        split: Split | None = None,
        url: str | None = None,
    ) -> ImageRecord:
        """Store an image (bytes of any format Pillow reads, or a PIL image) under `image_id`;
        an image already stored under that id with the same content is left alone."""
        self._check_writable()
        file = f"{IMAGES_DIR}/{image_id}.jpg"
        existing = self._images.get(image_id)
        if isinstance(data, bytes) and existing and (self.root / existing.file).is_file():
            if existing.sha256 == content_hash(data):
                return self.upsert_image(_with(existing, split=split, url=url, source=source))
        stored: StoredImage
        if isinstance(data, Image.Image):
            stored = write_rendered(data, self.root / file)
        else:
            stored = write_image(data, self.root / file, what=url or image_id)
        record = ImageRecord(
            image_id, file, stored.sha256, stored.width, stored.height, source, split, url
        )
        return self.upsert_image(record)

    def upsert_image(self, record: ImageRecord) -> ImageRecord:
        self._check_writable()
        old = self._images.get(record.image_id)
        if old == record:
            return record
        self._superseded += old is not None
        self._images[record.image_id] = record
        self._by_hash.setdefault(record.sha256, record.image_id)
        self._image_rows.append(record.to_json())
        self._image_rows.flush()  # before any caption row that refers to it
        return record

    # ---- captions -------------------------------------------------------------------------

    def captions(
        self,
        *,
        language: str | None = None,
        source: str | None = None,
        split: Split | None = None,
        include_rejected: bool = False,
    ) -> Iterator[CaptionRecord]:
        """Captions in insertion order; rejected translations only with `include_rejected`."""
        for caption in list(self._captions.values()):
            if (
                (include_rejected or caption.keep)
                and (language is None or caption.language == language)
                and (source is None or caption.source == source)
                and (split is None or self._split_of(caption.image_id) == split)
            ):
                yield caption

    def _split_of(self, image_id: str) -> Split | None:
        image = self._images.get(image_id)
        return image.split if image is not None else None

    def caption(self, key: CaptionKey) -> CaptionRecord | None:
        return self._captions.get(key)

    def upsert_caption(self, record: CaptionRecord) -> bool:
        """Store `record` (its text cleaned: `clean_caption`); True if anything changed."""
        self._check_writable()
        if record.image_id not in self._images:
            raise DatasetError(
                f"caption for unknown image {record.image_id!r}: add the image first"
            )
        record = record.with_changes(caption=clean_caption(record.caption, record.language))
        old = self._captions.get(record.key)
        if old == record:
            return False
        self._superseded += old is not None
        self._captions[record.key] = record
        self._caption_rows.append(record.to_json())
        self._unflushed += 1
        if self._unflushed >= FLUSH_EVERY:
            self.flush()
        return True

    def upsert_captions(self, records: Iterable[CaptionRecord]) -> int:
        return sum(self.upsert_caption(r) for r in records)

    # ---- summary --------------------------------------------------------------------------

    def counts(self) -> dict[str, Any]:
        captions = list(self._captions.values())
        kept = [c for c in captions if c.keep]
        return {
            "images": len(self._images),
            "captions": len(kept),
            "rejected_translations": len(captions) - len(kept),
            "images_by_split": _count(str(r.split) if r.split else "none" for r in self.images()),
            "images_by_source": _count(r.source for r in self._images.values()),
            "captions_by_language": _count(c.language for c in kept),
            "captions_by_source": _count(c.source for c in kept),
        }

    def _write_manifest(self) -> None:
        self.manifest |= {
            "format": FORMAT,
            "version": SCHEMA_VERSION,
            "updated": _now(),
            "tables": {"images": IMAGES_TABLE, "captions": CAPTIONS_TABLE},
            "images_dir": IMAGES_DIR,
            "counts": self.counts(),
        }
        temporary = self.root / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(self.manifest, ensure_ascii=False, indent=2) + "\n")
        os.replace(temporary, self.root / MANIFEST)

    def _check_writable(self) -> None:
        if not self.writable or self._lock_fd is None:
            raise DatasetError(f"the dataset {self.root} is open read-only (or closed)")


def merge(target: Dataset, source: Dataset) -> tuple[int, int]:
    """Copy `source`'s images and captions into `target`; returns (images, captions) added or
    changed. An image id present in both with different content is an error."""
    images = captions = 0
    for record in source.images():
        mine = target.image(record.image_id)
        if mine is not None and mine.sha256 != record.sha256:
            raise DatasetError(
                f"image {record.image_id!r} differs between {source.root} and {target.root}"
            )
        if mine is None or not (target.root / mine.file).is_file():
            destination = target.root / record.file
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.root / record.file, destination)
        images += mine != record
        target.upsert_image(record)
    for caption in source.captions(include_rejected=True):
        captions += target.upsert_caption(caption)
    target.flush()
    return images, captions


def _with(record: ImageRecord, **changes: Any) -> ImageRecord:
    return replace(record, **{k: v for k, v in changes.items() if v is not None})


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a vidsearch dataset manifest (format != {FORMAT!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise DatasetError(
            f"{path.parent} has dataset schema version {version!r}; this vidsearch reads up to "
            f"{SCHEMA_VERSION}: upgrade vidsearch"
        )
    return manifest
