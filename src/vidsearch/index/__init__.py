"""Where vectors and the catalog of videos live."""

from vidsearch.index.base import FramePoint, VectorIndex
from vidsearch.index.catalog import Catalog
from vidsearch.index.edge import EdgeVectorIndex
from vidsearch.index.lock import IndexLock
from vidsearch.index.store import IndexStore

__all__ = ["Catalog", "EdgeVectorIndex", "FramePoint", "IndexLock", "IndexStore", "VectorIndex"]
