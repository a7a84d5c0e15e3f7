"""The data pipeline: build captioned-image datasets for training text encoders.

A dataset is a directory (see `dataset`): image files, an images table and a captions table
(image id, language, source, caption...). Steps, each resumable and idempotent:
`importers` (Flickr30k, MS-COCO, NoCaps), `translate` (HTTP endpoint, local model,
dictionary), `filtering` (cross-lingual similarity), `crawler` (a classifieds JSON API) and
`shapes` (a synthetic world of coloured shapes with English and Persian captions).
The core of vidsearch never imports this package.
"""

from vidsearch.data.dataset import Dataset, merge
from vidsearch.data.errors import CrawlError, DataError, DatasetError, SourceFormatError
from vidsearch.data.records import CaptionRecord, ImageRecord, Rejection, Split

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
