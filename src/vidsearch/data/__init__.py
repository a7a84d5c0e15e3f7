"""The data pipeline: build captioned-image datasets for training text encoders.

A dataset is a directory (see `dataset`): image files, an images table and a captions table
(image id, language, source, caption...). Steps, each resumable and idempotent:
`importers` (Flickr30k, MS-COCO, NoCaps), `translate` (HTTP endpoint, local model,
dictionary), `filtering` (cross-lingual similarity), `crawler` (a classifieds JSON API) and
`shapes` (a synthetic world of coloured shapes with English and Persian captions).
The core of vidsearch never imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidsearch.data.errors import CrawlError, DataError, DatasetError, SourceFormatError
from vidsearch.data.records import CaptionRecord, ImageRecord, Rejection, Split

if TYPE_CHECKING:
    from vidsearch.data.dataset import Dataset, merge

__all__ = [
    "CaptionRecord",
    "CrawlError",
    "DataError",
    "Dataset",
    "DatasetError",
    "ImageRecord",
    "Rejection",
    "SourceFormatError",
    "Split",
    "merge",
]


def __getattr__(name: str) -> Any:
    """`Dataset` and `merge` load on first use: `vidsearch --help` need not import Pillow."""
    if name in {"Dataset", "merge"}:
        from vidsearch.data import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'vidsearch.data' has no attribute {name!r}")
