"""The dialogue index on its own embedded Qdrant Edge shard (`HOME/dialogue/`).

A shard of its own because its dense vectors come from a sentence encoder with its own size,
next to a sparse BM25 vector; the frame shard keeps its one unnamed image vector untouched.
A words-only shard (dim 0) has the sparse vector alone.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as qe

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
from vidsearch.index.edge import OPTIMIZE_MIN_POINTS, open_shard
from vidsearch.text.keywords import SparseTerms
from vidsearch.types import DialogueHit, TextSource

SEARCH_EF = 128


def _filter(
    video_ids: Sequence[str] | None,
    phrases: Sequence[str],
    sources: Collection[TextSource] | None = None,
) -> qe.Filter | None:
    must: list[qe.FieldCondition] = []
    must_not: list[qe.FieldCondition] = []
    if video_ids:
        match = qe.MatchValue(video_ids[0]) if len(video_ids) == 1 else qe.MatchAny(list(video_ids))
        must.append(qe.FieldCondition(key=VIDEO_FIELD, match=match))
    must.extend(qe.FieldCondition(key=TEXT_FIELD, match=qe.MatchPhrase(p)) for p in phrases)
    scope = source_scope(sources)
    if scope is not None:
        condition = qe.FieldCondition(key=SOURCE_FIELD, match=qe.MatchAny(list(scope.values)))
        (must if scope.keep else must_not).append(condition)
    if not (must or must_not):
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


def _size(dim: int) -> str:
    return "no sentence vectors" if dim == WORDS_ONLY_DIM else f"{dim}-d sentence vectors"


def text_index_params() -> qe.TextIndexParams:
    return qe.TextIndexParams(
        tokenizer=qe.TokenizerType.Multilingual, lowercase=True, phrase_matching=True
    )


class EdgeDialogueIndex:
    """Cues with a `meaning` (dense, cosine; none when `dim` is 0) and a `words` (sparse BM25,
    IDF) vector."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self._dim = dim
        if (path / "edge_config.json").is_file():
            stored = self._stored_dim(path)
            if stored is not None and stored != dim:
                raise IndexError_(
                    f"the dialogue index at {path} holds {_size(stored)}, not {_size(dim)}: "
                    "it was built with another dialogue model"
                )
        dense = (
            {}
            if dim == WORDS_ONLY_DIM
            # on disk (memory-mapped): a query reads a few, a CLI command need not load them all
            else {MEANING: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, on_disk=True)}
        )
        config = qe.EdgeConfig(
            vectors=dense,
            sparse_vectors={WORDS: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        self._shard, created = open_shard(path, config, "dialogue index")
        if created:
            self._shard.update(
                qe.UpdateOperation.create_field_index(VIDEO_FIELD, qe.PayloadSchemaType.Keyword)
            )
            self._shard.update(
                qe.UpdateOperation.create_field_index(TEXT_FIELD, text_index_params())
            )
            self._shard.update(
                qe.UpdateOperation.create_field_index(SOURCE_FIELD, qe.PayloadSchemaType.Keyword)
            )

    @property
    def dim(self) -> int:
        return self._dim

    @staticmethod
    def _stored_dim(path: Path) -> int | None:
        try:
            vectors = json.loads((path / "edge_config.json").read_text())["vectors"]
            if MEANING not in vectors:
                return WORDS_ONLY_DIM
            return int(vectors[MEANING]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def upsert(self, cues: Sequence[CuePoint]) -> None:
        check_cues(cues, self._dim)
        if not cues:
            return
        points = []
        for cue in cues:
            vector: dict = {} if cue.vector is None else {MEANING: cue.vector.tolist()}
            if cue.words:
                vector[WORDS] = qe.SparseVector(list(cue.words.indices), list(cue.words.values))
            points.append(qe.Point(id=cue.point_id, vector=vector, payload=cue.payload()))
        self._shard.update(qe.UpdateOperation.upsert_points(points))

    def count(
        self, video_id: str | None = None, *, sources: Collection[TextSource] | None = None
    ) -> int:
        flt = _filter([video_id] if video_id else None, (), sources)
        return int(self._shard.count(qe.CountRequest(exact=True, filter=flt)))

    def delete_video(self, video_id: str, *, sources: Collection[TextSource] | None = None) -> None:
        flt = _filter([video_id], (), sources)
        assert flt is not None
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

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
        query = qe.Query.Nearest(meaning_vector(vector, self._dim), using=MEANING)
        return self._query(query, limit, _filter(video_ids, phrases, sources))

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
        sparse = qe.SparseVector(list(words.indices), list(words.values))
        flt = _filter(video_ids, phrases, sources)
        return self._query(qe.Query.Nearest(sparse, using=WORDS), limit, flt)

    def _query(self, query: qe.Query, limit: int, flt: qe.Filter | None) -> list[DialogueHit]:
        request = qe.QueryRequest(
            limit=limit,
            query=query,
            filter=flt,
            with_payload=True,
            params=qe.SearchParams(hnsw_ef=SEARCH_EF),
        )
        return [
            hit_from_payload(p.id, p.payload, p.score)
            for p in self._shard.query(request)
            if p.payload
        ]

    def flush(self) -> None:
        self._shard.flush()

    def unindexed_points(self) -> int:
        info = self._shard.info()
        return int(info.points_count) - int(info.indexed_vectors_count)

    def optimize(self, *, min_points: int = OPTIMIZE_MIN_POINTS) -> bool:
        if self.unindexed_points() < min_points:
            return False
        return bool(self._shard.optimize())

    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None  # type: ignore[assignment]
