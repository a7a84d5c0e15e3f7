"""Search: a query (text or image) to ranked moments of the indexed videos."""

from vidsearch.search.images import QueryImage, load_query_image, query_pixels
from vidsearch.search.query import MAX_QUERY_CHARS, TextQuery, read_query
from vidsearch.search.searcher import (
    MAX_TOP_K,
    EmptyIndexError,
    Searcher,
    SearchResult,
    StageTimer,
)

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TOP_K",
    "EmptyIndexError",
    "QueryImage",
    "SearchResult",
    "Searcher",
    "StageTimer",
    "TextQuery",
    "load_query_image",
    "query_pixels",
    "read_query",
]
