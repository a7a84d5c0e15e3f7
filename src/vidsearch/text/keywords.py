"""Words as sparse vectors: Qdrant's own BM25 model (from qdrant_edge, no server needed), so
the embedded shard and a Qdrant server store the same term ids and weights.

Documents get BM25 term-frequency weights; the index applies IDF at query time (the sparse
vector is stored with the IDF modifier), so rare words such as names count most. Text is
normalised first: Persian spelling variants become one (`normalize_persian`), and the model
lower-cases, drops English stop words and stems English words.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import qdrant_edge as qe

from vidsearch.text.spelling import words_spelling


@dataclass(frozen=True, slots=True)
class SparseTerms:
    indices: tuple[int, ...]
    values: tuple[float, ...]

    def __bool__(self) -> bool:
        return bool(self.indices)


class Keywords:
    """BM25 sparse vectors for documents and queries (one model, safe across threads)."""

    def __init__(self) -> None:
        self._model = qe.Bm25()
        self._lock = threading.Lock()

    def document(self, text: str) -> SparseTerms:
        """A dialogue line's terms (spelled as `words_spelling` spells it)."""
        with self._lock:
            vector = self._model.embed_document(words_spelling(text))
        return SparseTerms(tuple(vector.indices), tuple(vector.values))

    def query(self, spelled: str) -> SparseTerms:
        """A query's terms; `spelled` is already in `words_spelling` (`TextQuery.for_words`)."""
        with self._lock:
            vector = self._model.embed_query(spelled)
        return SparseTerms(tuple(vector.indices), tuple(vector.values))
