"""Where vectors and the catalog of videos live."""

from vidsearch.index.backends import open_store
from vidsearch.index.base import FramePoint, VectorIndex, VideoCatalog
from vidsearch.index.catalog import Catalog
from vidsearch.index.edge import EdgeVectorIndex
from vidsearch.index.lock import IndexLock
from vidsearch.index.qdrant_connection import QdrantConnection
from vidsearch.index.store import IndexStore

__all__ = [
    "Catalog",
    "EdgeVectorIndex",
    "FramePoint",
    "IndexLock",
    "IndexStore",
    "QdrantConnection",
    "VectorIndex",
    "VideoCatalog",
    "open_store",
]
