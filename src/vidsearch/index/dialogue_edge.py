"""The dialogue index on its own embedded Qdrant Edge shard (`HOME/dialogue/`).

A shard of its own because its dense vectors come from a sentence encoder with its own size,
next to a sparse BM25 vector; the frame shard keeps its one unnamed image vector untouched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

from vidsearch.errors import IndexError_, IndexLockedError
from vidsearch.index.dialogue_base import (
    MEANING,
    TEXT_FIELD,
    VIDEO_FIELD,
    WORDS,
    CuePoint,
    DialogueIndex,
    hit_from_payload,
)
from vidsearch.index.edge import OPTIMIZE_MIN_POINTS
from vidsearch.index.keywords import SparseTerms
from vidsearch.types import DialogueHit

SEARCH_EF = 128


def _filter(video_ids: Sequence[str] | None, phrases: Sequence[str]) -> qe.Filter | None:
    must: list[qe.FieldCondition] = []
    if video_ids:
        match = qe.MatchValue(video_ids[0]) if len(video_ids) == 1 else qe.MatchAny(list(video_ids))
        must.append(qe.FieldCondition(key=VIDEO_FIELD, match=match))
    must.extend(qe.FieldCondition(key=TEXT_FIELD, match=qe.MatchPhrase(p)) for p in phrases)
    return qe.Filter(must=must) if must else None


def text_index_params() -> qe.TextIndexParams:
    return qe.TextIndexParams(
        tokenizer=qe.TokenizerType.Multilingual, lowercase=True, phrase_matching=True
    )


class EdgeDialogueIndex(DialogueIndex):
    """Cues with a `meaning` (dense, cosine) and a `words` (sparse BM25, IDF) vector."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self._dim = dim
        exists = (path / "edge_config.json").is_file()
        config = qe.EdgeConfig(
            vectors={MEANING: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={WORDS: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        try:
            if exists:
                stored = self._stored_dim(path)
                if stored is not None and stored != dim:
                    raise IndexError_(
                        f"the dialogue index at {path} holds {stored}-d sentence vectors, not "
                        f"{dim}-d: it was built with another dialogue model"
                    )
                self._shard = qe.EdgeShard.load(str(path), None)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._shard = qe.EdgeShard.create(str(path), config)
        except IndexError_:
            raise
        except Exception as exc:  # qdrant_edge raises bare Exception
            if "WouldBlock" in str(exc):
                raise IndexLockedError(
                    f"the dialogue index at {path} is open in another process"
                ) from None
            raise IndexError_(f"cannot open the dialogue index at {path}: {exc}") from None
        if not exists:
            self._shard.update(
                qe.UpdateOperation.create_field_index(VIDEO_FIELD, qe.PayloadSchemaType.Keyword)
            )
            self._shard.update(
                qe.UpdateOperation.create_field_index(TEXT_FIELD, text_index_params())
            )

    @staticmethod
    def _stored_dim(path: Path) -> int | None:
        try:
            data = json.loads((path / "edge_config.json").read_text())
            return int(data["vectors"][MEANING]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _upsert(self, cues: Sequence[CuePoint]) -> None:
        points = []
        for cue in cues:
            vector: dict = {MEANING: cue.vector.tolist()}
            if cue.words:
                vector[WORDS] = qe.SparseVector(list(cue.words.indices), list(cue.words.values))
            points.append(qe.Point(id=cue.point_id, vector=vector, payload=cue.payload()))
        self._shard.update(qe.UpdateOperation.upsert_points(points))

    def count(self, video_id: str | None = None) -> int:
        flt = _filter([video_id], ()) if video_id else None
        return int(self._shard.count(qe.CountRequest(exact=True, filter=flt)))

    def delete_video(self, video_id: str) -> None:
        flt = _filter([video_id], ())
        assert flt is not None
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

    def _nearest_meaning(
        self,
        vector: list[float],
        limit: int,
        video_ids: Sequence[str] | None,
        phrases: Sequence[str],
    ) -> list[DialogueHit]:
        return self._query(qe.Query.Nearest(vector, using=MEANING), limit, video_ids, phrases)

    def _nearest_words(
        self,
        words: SparseTerms,
        limit: int,
        video_ids: Sequence[str] | None,
        phrases: Sequence[str],
    ) -> list[DialogueHit]:
        sparse = qe.SparseVector(list(words.indices), list(words.values))
        return self._query(qe.Query.Nearest(sparse, using=WORDS), limit, video_ids, phrases)

    def _query(
        self,
        query: qe.Query,
        limit: int,
        video_ids: Sequence[str] | None,
        phrases: Sequence[str],
    ) -> list[DialogueHit]:
        request = qe.QueryRequest(
            limit=limit,
            query=query,
            filter=_filter(video_ids, phrases),
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

    def optimize(self, *, min_points: int = OPTIMIZE_MIN_POINTS) -> bool:
        info = self._shard.info()
        if int(info.points_count) - int(info.indexed_vectors_count) < min_points:
            return False
        return bool(self._shard.optimize())

    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None  # type: ignore[assignment]
