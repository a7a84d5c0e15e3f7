"""The dialogue index in a collection on a Qdrant server (`<collection>_dialogue`).

The same points as the embedded `EdgeDialogueIndex`: a named dense vector `meaning`, a named
sparse vector `words` with the IDF modifier (the term weights come from Qdrant's BM25 model on
the client, so both backends hold the same ids and weights), a full-text index with phrase
matching on `search_text` and a keyword index on `video_id`. A words-only collection (dim 0)
has the sparse vector alone.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np
from qdrant_client import models

from vidsearch.errors import IndexError_
from vidsearch.index.dialogue_base import (
    MEANING,
    SOURCE_FIELD,
    TEXT_FIELD,
    VIDEO_FIELD,
    WORDS,
    WORDS_ONLY_DIM,
    CuePoint,
    check_cues,
    hit_from_payload,
    meaning_vector,
    source_scope,
)
from vidsearch.index.qdrant_errors import QdrantErrors
from vidsearch.text.keywords import SparseTerms
from vidsearch.types import DialogueHit, TextSource

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

UPSERT_BATCH = 256


def _filter(
    video_ids: Sequence[str] | None,
    phrases: Sequence[str],
    sources: Collection[TextSource] | None = None,
) -> models.Filter | None:
    must: list[models.Condition] = []
    must_not: list[models.Condition] = []
    if video_ids:
        match: models.MatchValue | models.MatchAny = (
            models.MatchValue(value=video_ids[0])
            if len(video_ids) == 1
            else models.MatchAny(any=list(video_ids))
        )
        must.append(models.FieldCondition(key=VIDEO_FIELD, match=match))
    must.extend(
        models.FieldCondition(key=TEXT_FIELD, match=models.MatchPhrase(phrase=p)) for p in phrases
    )
    scope = source_scope(sources)
    if scope is not None:
        condition = models.FieldCondition(
            key=SOURCE_FIELD, match=models.MatchAny(any=list(scope.values))
        )
        (must if scope.keep else must_not).append(condition)
    if not (must or must_not):
        return None
    return models.Filter(must=must or None, must_not=must_not or None)


def _size(dim: int) -> str:
    return f"no '{MEANING}' vectors" if dim == WORDS_ONLY_DIM else f"{dim}-d '{MEANING}' vectors"


class QdrantDialogueIndex:
    """Cues in one Qdrant collection; the client is not owned."""

    def __init__(self, client: QdrantClient, collection: str, dim: int, *, where: str) -> None:
        self.collection = collection
        self.where = where
        self._client: QdrantClient | None = client
        self._dim = dim
        self._errors = QdrantErrors(where)
        with self._errors:
            if not client.collection_exists(collection):
                try:
                    dense = (
                        {}
                        if dim == WORDS_ONLY_DIM
                        else {
                            MEANING: models.VectorParams(size=dim, distance=models.Distance.COSINE)
                        }
                    )
                    client.create_collection(
                        collection,
                        vectors_config=dense,
                        sparse_vectors_config={
                            WORDS: models.SparseVectorParams(modifier=models.Modifier.IDF)
                        },
                    )
                except Exception:
                    if not client.collection_exists(collection):  # else: lost a race, fine
                        raise
            params = client.get_collection(collection).config.params.vectors
            stored = params.get(MEANING) if isinstance(params, dict) else None
            stored_dim = WORDS_ONLY_DIM if stored is None else stored.size
            if stored_dim != dim or (params and not isinstance(params, dict)):
                raise IndexError_(
                    f"the collection '{collection}' at {where} holds {_size(stored_dim)}, not "
                    f"{_size(dim)}: it was built with another dialogue model"
                )
            for keyword in (VIDEO_FIELD, SOURCE_FIELD):
                client.create_payload_index(
                    collection, keyword, field_schema=models.PayloadSchemaType.KEYWORD, wait=True
                )
            client.create_payload_index(
                collection,
                TEXT_FIELD,
                field_schema=models.TextIndexParams(
                    type=models.TextIndexType.TEXT,
                    tokenizer=models.TokenizerType.MULTILINGUAL,
                    lowercase=True,
                    phrase_matching=True,
                ),
                wait=True,
            )

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            raise IndexError_(f"the dialogue index '{self.collection}' at {self.where} is closed")
        return self._client

    def upsert(self, cues: Sequence[CuePoint]) -> None:
        check_cues(cues, self._dim)
        if not cues:
            return
        points = []
        for cue in cues:
            vector: dict = {} if cue.vector is None else {MEANING: cue.vector.tolist()}
            if cue.words:
                vector[WORDS] = models.SparseVector(
                    indices=list(cue.words.indices), values=list(cue.words.values)
                )
            points.append(models.PointStruct(id=cue.point_id, vector=vector, payload=cue.payload()))
        with self._errors:
            for start in range(0, len(points), UPSERT_BATCH):
                self.client.upsert(
                    self.collection, points=points[start : start + UPSERT_BATCH], wait=True
                )

    def count(
        self, video_id: str | None = None, *, sources: Collection[TextSource] | None = None
    ) -> int:
        flt = _filter([video_id] if video_id else None, (), sources)
        with self._errors:
            return int(self.client.count(self.collection, count_filter=flt, exact=True).count)

    def delete_video(self, video_id: str, *, sources: Collection[TextSource] | None = None) -> None:
        flt = _filter([video_id], (), sources)
        assert flt is not None
        with self._errors:
            self.client.delete(
                self.collection, points_selector=models.FilterSelector(filter=flt), wait=True
            )

    def search_meaning(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        phrases: Sequence[str] = (),
        sources: Collection[TextSource] | None = None,
    ) -> list[DialogueHit]:
        if self._dim == WORDS_ONLY_DIM:
            return []
        query = meaning_vector(vector, self._dim)
        return self._query(query, MEANING, limit, _filter(video_ids, phrases, sources))

    def search_words(
        self,
        words: SparseTerms,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        phrases: Sequence[str] = (),
        sources: Collection[TextSource] | None = None,
    ) -> list[DialogueHit]:
        if not words:
            return []
        sparse = models.SparseVector(indices=list(words.indices), values=list(words.values))
        return self._query(sparse, WORDS, limit, _filter(video_ids, phrases, sources))

    def _query(
        self,
        query: list[float] | models.SparseVector,
        using: str,
        limit: int,
        flt: models.Filter | None,
    ) -> list[DialogueHit]:
        with self._errors:
            response = self.client.query_points(
                self.collection,
                query=query,
                using=using,
                limit=limit,
                query_filter=flt,
                with_payload=True,
            )
        return [hit_from_payload(p.id, p.payload, p.score) for p in response.points if p.payload]

    def flush(self) -> None:
        """Nothing to do: every write waited for the server to apply it."""

    def unindexed_points(self) -> int:
        return 0  # the server's optimiser builds the graph as points come

    def optimize(self, *, min_points: int = 0) -> bool:
        return False  # the server's optimiser builds the graph

    def close(self) -> None:
        self._client = None
