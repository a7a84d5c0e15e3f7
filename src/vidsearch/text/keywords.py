"""Words as sparse vectors: Qdrant's own BM25 model (from qdrant_edge, no server needed), so
the embedded shard and a Qdrant server store the same term ids and weights.

Documents get BM25 term-frequency weights; the index applies IDF at query time (the sparse
vector is stored with the IDF modifier), so rare words such as names count most. Text is
normalised first: Persian spelling variants become one (`normalize_persian`), and the model
lower-cases, drops English stop words and stems English words.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import qdrant_edge as qe

from vidsearch.text.language import PERSIAN, detect_language
from vidsearch.text.persian import normalize_persian

_PHRASE = re.compile(r'"([^"]+)"|«([^»]+)»|“([^”]+)”')


@dataclass(frozen=True, slots=True)
class SparseTerms:
    indices: tuple[int, ...]
    values: tuple[float, ...]

    def __bool__(self) -> bool:
        return bool(self.indices)


def search_text(text: str) -> str:
    """How a line (or a query) is spelled for word and phrase matching."""
    return normalize_persian(text) if detect_language(text) == PERSIAN else text.strip()


def split_phrases(query: str) -> tuple[str, list[str]]:
    """The query without its quote marks, and the quoted phrases ("...", «...», “...”)."""
    phrases = [next(g for g in m.groups() if g).strip() for m in _PHRASE.finditer(query)]
    plain = _PHRASE.sub(lambda m: next(g for g in m.groups() if g), query)
    return plain.strip(), [search_text(p) for p in phrases if p.strip()]


class Keywords:
    """BM25 sparse vectors for documents and queries (one model, safe across threads)."""

    def __init__(self) -> None:
        self._model = qe.Bm25()
        self._lock = threading.Lock()

    def document(self, text: str) -> SparseTerms:
        with self._lock:
            vector = self._model.embed_document(search_text(text))
        return SparseTerms(tuple(vector.indices), tuple(vector.values))

    def query(self, text: str) -> SparseTerms:
        with self._lock:
            vector = self._model.embed_query(search_text(text))
        return SparseTerms(tuple(vector.indices), tuple(vector.values))
