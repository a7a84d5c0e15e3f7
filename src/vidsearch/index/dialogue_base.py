"""The dialogue index: the lines of the videos' text, searchable by meaning and by their words.

A line is a subtitle cue, a transcribed speech segment or a span of text read on screen; its
payload's `source` says which (`TextSource`; lines stored before sources existed have none and
are subtitles, so a filter that keeps subtitles is written as "none of the other sources").
Each line is one point with
- a dense vector `meaning` from a multilingual sentence encoder (so a Persian query finds an
  English line and the other way round), cosine distance;
- a sparse vector `words`: BM25 term weights from Qdrant's own `Bm25` model, stored with the
  IDF modifier, so Qdrant weighs rare words (names) over common ones at query time;
- a full-text payload index on `search_text` (the cue, Persian spelling normalised) with
  phrase matching, for exact phrases ("never come back" in that order);
- a keyword payload index on `video_id`, to filter and delete by video.
Its payload also places the cue on the frame index: the shot its middle falls in and the
stored frame nearest to it (the moment's thumbnail). Point ids derive from the video, the
cue's start and its position, so indexing a video again overwrites its cues.

Words and phrases need no neural model, meaning does: an index made while the sentence
encoder could not be loaded is *words-only* (`dim` 0, `WORDS_ONLY_DIM`): its points have no
`meaning` vector and `search_meaning` finds nothing. A cue stored while the encoder is missing
has no `vector` (`CuePoint.vector` None) even in a full index: it is found by its words only.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidsearch.errors import IndexError_
from vidsearch.text.keywords import SparseTerms
from vidsearch.types import DialogueHit, TextSource

CUE_NAMESPACE = uuid.UUID("2b7f0c55-3d64-4c9e-a0f1-5a8e61d9c0b3")
MEANING = "meaning"  # the dense vector's name
WORDS = "words"  # the sparse vector's name
WORDS_ONLY_DIM = 0  # the dim of a dialogue index without sentence vectors
VIDEO_FIELD = "video_id"
TEXT_FIELD = "search_text"
SOURCE_FIELD = "source"


def cue_point_id(
    video_id: str, start: float, index: int, source: TextSource = TextSource.SUBTITLE
) -> str:
    """Deterministic: storing a video's lines of one source again overwrites them (subtitle
    ids are those of the index before sources existed)."""
    kind = "" if source is TextSource.SUBTITLE else f"{source}/"
    return str(uuid.uuid5(CUE_NAMESPACE, f"{video_id}/{kind}{round(start * 1000)}/{index}"))


@dataclass(frozen=True, slots=True)
class SourceScope:
    """How a backend keeps the lines of some sources: `source` in `values` (`keep`), or not
    in them (a scope with subtitles, so the lines stored without a source stay in)."""

    keep: bool
    values: tuple[str, ...]


def source_scope(sources: Collection[TextSource] | None) -> SourceScope | None:
    """The filter for lines of `sources` (None or every source: no filter)."""
    if sources is None or set(sources) >= set(TextSource):
        return None
    if TextSource.SUBTITLE in sources:
        return SourceScope(False, tuple(str(s) for s in TextSource if s not in sources))
    return SourceScope(True, tuple(str(s) for s in TextSource if s in sources))


@dataclass(frozen=True, slots=True)
class CuePoint:
    """One subtitle cue ready to store."""

    video_id: str
    index: int  # position among the video's cues
    start: float
    end: float
    text: str  # as shown
    language: str
    search_text: str  # as searched: normalised spelling
    shot: int
    shot_start: float
    shot_end: float
    anchor_pts: int | None
    anchor_timestamp: float | None
    vector: np.ndarray | None  # the sentence vector; None: searchable by its words only
    words: SparseTerms
    source: TextSource = TextSource.SUBTITLE

    @property
    def point_id(self) -> str:
        return cue_point_id(self.video_id, self.start, self.index, self.source)

    def payload(self) -> dict[str, object]:
        return {
            VIDEO_FIELD: self.video_id,
            "index": self.index,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "language": self.language,
            TEXT_FIELD: self.search_text,
            "shot": self.shot,
            "shot_start": round(self.shot_start, 6),
            "shot_end": round(self.shot_end, 6),
            "anchor_pts": self.anchor_pts,
            "anchor_timestamp": self.anchor_timestamp,
            SOURCE_FIELD: str(self.source),
        }


def hit_from_payload(point_id: object, payload: dict, score: float) -> DialogueHit:
    anchor_ts = payload.get("anchor_timestamp")
    anchor_pts = payload.get("anchor_pts")
    return DialogueHit(
        cue_id=str(point_id),
        video_id=str(payload[VIDEO_FIELD]),
        start=float(payload["start"]),
        end=float(payload["end"]),
        text=str(payload["text"]),
        language=str(payload["language"]),
        score=float(score),
        shot=int(payload["shot"]),
        shot_start=float(payload["shot_start"]),
        shot_end=float(payload["shot_end"]),
        anchor_pts=None if anchor_pts is None else int(anchor_pts),
        anchor_timestamp=None if anchor_ts is None else float(anchor_ts),
        source=TextSource(payload.get(SOURCE_FIELD) or TextSource.SUBTITLE),
    )


def check_cues(cues: Sequence[CuePoint], dim: int) -> None:
    """Every cue's sentence vector (if it has one) fits the index, checked before anything is
    written: a words-only index takes none."""
    for cue in cues:
        if cue.vector is None:
            continue
        if dim == WORDS_ONLY_DIM:
            raise IndexError_(
                "a sentence vector does not fit a words-only dialogue index (made while the "
                "sentence encoder could not be loaded)"
            )
        if cue.vector.shape != (dim,):
            raise IndexError_(
                f"sentence vector of shape {cue.vector.shape} does not fit a {dim}-d dialogue index"
            )


def meaning_vector(vector: np.ndarray, dim: int) -> list[float]:
    """A dialogue query's sentence vector as the index takes it, or IndexError_."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    if vector.shape != (dim,):
        raise IndexError_(
            f"query vector has {vector.shape[0]} values; the dialogue index holds {dim}-d vectors"
        )
    return vector.tolist()


class DialogueIndex(Protocol):
    """Lines in and nearest lines out, as `VectorIndex` is for frames. Backends check sizes
    with `check_cues` and `meaning_vector` before anything reaches Qdrant; `sources` (None:
    all) keeps the lines of those sources only (`source_scope`)."""

    @property
    def dim(self) -> int:
        """The sentence vectors' size; `WORDS_ONLY_DIM` (0): the index has none."""
        ...

    def upsert(self, cues: Sequence[CuePoint]) -> None: ...

    def search_meaning(
        self,
        vector: np.ndarray,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        phrases: Sequence[str] = (),
        sources: Collection[TextSource] | None = None,
    ) -> list[DialogueHit]:
        """Cues nearest in meaning (cosine), only those containing every phrase (none in a
        words-only index)."""
        ...

    def search_words(
        self,
        words: SparseTerms,
        limit: int,
        *,
        video_ids: Sequence[str] | None = None,
        phrases: Sequence[str] = (),
        sources: Collection[TextSource] | None = None,
    ) -> list[DialogueHit]:
        """Cues sharing the query's words, best BM25 first, only those containing every
        phrase (none for no words)."""
        ...

    def count(
        self, video_id: str | None = None, *, sources: Collection[TextSource] | None = None
    ) -> int: ...

    def delete_video(
        self, video_id: str, *, sources: Collection[TextSource] | None = None
    ) -> None: ...

    def flush(self) -> None: ...

    def unindexed_points(self) -> int:
        """Cues not yet in the search graph."""
        ...

    def optimize(self, *, min_points: int = ...) -> bool: ...

    def close(self) -> None: ...
