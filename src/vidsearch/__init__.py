"""vidsearch: find the moment in a video that a sentence describes.

    import vidsearch
    with vidsearch.open() as library:
        library.index(["film.mp4"])
        result = library.search("a man running on the beach")

The names below load on first use, so `import vidsearch` stays light (no NumPy, PyAV or
Qdrant until a library is opened).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vidsearch.config import Settings
    from vidsearch.errors import VidsearchError
    from vidsearch.ingest import IngestReport, ProgressListener
    from vidsearch.library import IndexReport, Library, open
    from vidsearch.search import EmptyIndexError, SearchResult
    from vidsearch.types import Moment, SearchMode, VideoRecord

_EXPORTS = {
    "open": "vidsearch.library",
    "Library": "vidsearch.library",
    "IndexReport": "vidsearch.library",
    "IngestReport": "vidsearch.ingest",
    "ProgressListener": "vidsearch.ingest",
    "SearchResult": "vidsearch.search",
    "EmptyIndexError": "vidsearch.search",
    "Moment": "vidsearch.types",
    "SearchMode": "vidsearch.types",
    "VideoRecord": "vidsearch.types",
    "Settings": "vidsearch.config",
    "VidsearchError": "vidsearch.errors",
}
__all__ = [
    "EmptyIndexError",
    "IndexReport",
    "IngestReport",
    "Library",
    "Moment",
    "ProgressListener",
    "SearchMode",
    "SearchResult",
    "Settings",
    "VidsearchError",
    "VideoRecord",
    "__version__",
    "open",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vidsearch' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
