"""Answer a query (text or image) with the best-matching moments of the indexed videos.

The one search path: the CLI, the service, the library API and the evaluation all come here.
A text query is read once (`query.read_query`) and searches the frames (`visual`), the lines
of the dialogue index — what is said (`dialogue`: subtitles and speech), what is written on
screen (`screen`), both (`text`) — or the frames and every line (`hybrid`, the default wherever
the searched videos have lines; see search/fusion.py). An image query searches the frames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

import numpy as np

from vidsearch.config import DEFAULT_TOP_K
from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.encoders.base import Encoder
from vidsearch.encoders.model_bundle import (
    EncoderChoice,
    ModelBundle,
    image_choice,
    unreadable_language,
)
from vidsearch.errors import ModelError, QueryError
from vidsearch.index.store import IndexStore
from vidsearch.search.fusion import DEFAULT_FUSION, FusionMethod, Window, fuse
from vidsearch.search.images import QueryImage, query_pixels
from vidsearch.search.moments import group_hits
from vidsearch.search.query import TextQuery, read_query
from vidsearch.types import (
    MODE_SOURCES,
    FrameHit,
    Moment,
    SearchMode,
    TextSource,
    VideoRecord,
)

MAX_TOP_K = 1000
# Frames fetched per requested moment: several hits usually fall in one shot.
CANDIDATES_PER_MOMENT = 10
MIN_CANDIDATES = 100
MAX_CANDIDATES = 5000
# Lines fetched per requested moment from each dialogue channel (meaning, words).
DIALOGUE_CANDIDATES_PER_MOMENT = 5
MIN_DIALOGUE_CANDIDATES = 50

# Names the stages a search spends its time in (`encode`, `vector_search`), for metrics.
StageTimer = Callable[[str], AbstractContextManager[object]]


def _untimed(_: str) -> AbstractContextManager[object]:
    return nullcontext()


class EmptyIndexError(QueryError):
    """Nothing is indexed yet, so there is nothing to search."""


@dataclass(slots=True)
class SearchResult:
    query: str
    moments: list[Moment]
    encoder: EncoderChoice | None = None  # which encoder embedded the query, when known
    mode: SearchMode | None = None  # what was searched (text queries)
    notes: list[str] = field(default_factory=list)  # what could not be searched, and why

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "query": self.query,
            "moments": [m.to_json() for m in self.moments],
        }
        if self.encoder is not None:
            data["encoder"] = self.encoder.to_json()
        if self.mode is not None:
            data["mode"] = str(self.mode)
        if self.notes:
            data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True, slots=True)
class _Scope:
    records: dict[str, VideoRecord]  # the catalog, by video id
    video_ids: list[str] | None  # the searched videos (None: all)


class Searcher:
    """Searches an open IndexStore with the encoder that built it, and its dialogue with
    `dialogue` (None: frames only, whatever the index holds). Safe to share between threads."""

    def __init__(
        self,
        store: IndexStore,
        encoder: Encoder,
        *,
        dialogue: DialogueEncoder | None = None,
        fusion: FusionMethod = DEFAULT_FUSION,
        timer: StageTimer | None = None,
    ) -> None:
        """`timer(stage)` wraps each stage of a search (the service measures them)."""
        self.store = store
        self.encoder = encoder
        self.dialogue = dialogue
        self.fusion = fusion
        self.timer = timer or _untimed
        # a Hugging Face fast tokenizer must not be used by two threads at once
        self._text_lock = threading.Lock()
        if store.model_identity is not None:  # a different model is refused before any search
            store.bind_model(encoder.identity, encoder.name, encoder.dim)

    # -- the entry points ---------------------------------------------------------------
    def search(
        self,
        query: str | TextQuery | None = None,
        *,
        image: QueryImage | None = None,
        language: str | None = None,
        mode: SearchMode | None = None,
        top_k: int = DEFAULT_TOP_K,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        """The best `top_k` moments for a sentence or an image (give exactly one)."""
        if (query is None) == (image is None):
            raise QueryError("give either a text query or an image (one of them)")
        if image is not None:
            return self.search_image(image, top_k=top_k, videos=videos, min_score=min_score)
        assert query is not None
        return self.search_text(
            query, language=language, mode=mode, top_k=top_k, videos=videos, min_score=min_score
        )

    def search_text(
        self,
        query: str | TextQuery,
        *,
        language: str | None = None,
        mode: SearchMode | None = None,
        top_k: int = DEFAULT_TOP_K,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        """`language` (ISO 639-1) overrides the one detected from the query's script; it picks
        the bundle's text encoder (see encoders/model_bundle.py). `mode` None: hybrid when
        the searched videos have indexed lines, else visual. `min_score` applies to the
        moments' scores (0-1)."""
        if isinstance(query, str):
            query = read_query(query, language)
        _check_options(top_k, min_score)
        mode = self.resolve_mode(mode, videos)
        scope = self._scope(videos)
        notes: list[str] = []
        frames: list[FrameHit] = []
        choice = None
        if mode in (SearchMode.VISUAL, SearchMode.HYBRID):
            unreadable = self._unreadable(query)
            if unreadable is not None and mode is SearchMode.VISUAL:
                raise unreadable
            if unreadable is not None:  # the lines can still answer it
                notes.append(f"frames were not searched: {unreadable}")
                mode = SearchMode.TEXT
            else:
                vector, choice = self._text_vector(query)  # an unusable query fails first
                if mode is SearchMode.VISUAL:
                    self._require_vectors()
                # in a fused mode `min_score` applies to the fused score, not to frames
                floor = min_score if mode is SearchMode.VISUAL else None
                frames = self._frames(vector, _frame_limit(top_k), scope, floor)
        if mode is SearchMode.VISUAL:
            moments = self._visual_moments(frames, top_k, scope, min_score)
            return SearchResult(query.text, moments, choice, mode, notes)
        meaning, words = self._lines(query, top_k, scope, notes, MODE_SOURCES[mode])
        windows = fuse(frames, meaning, words, top_k, method=self.fusion)
        moments = [
            self._fused_moment(w, scope.records[w.video_id])
            for w in windows
            if _kept(w.score, min_score)
        ]
        return SearchResult(query.text, moments, choice, mode, notes)

    def search_image(
        self,
        image: QueryImage,
        *,
        label: str | None = None,
        top_k: int = DEFAULT_TOP_K,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        """The moments whose frames look most like `image` (a file, a PIL image or RGB
        pixels); `label` names it in the result (default: the file name)."""
        pixels, default_label = query_pixels(image)
        _check_options(top_k, min_score)
        scope = self._scope(videos)
        with self.timer("encode"):
            vector = self.encoder.encode_images([pixels])[0]
        self._require_vectors()
        frames = self._frames(vector, _frame_limit(top_k), scope, min_score)
        moments = self._visual_moments(frames, top_k, scope, min_score)
        return SearchResult(label or default_label, moments, image_choice(self.encoder))

    def top_frames(self, query: str, video_id: str, top_k: int) -> list[FrameHit]:
        """The frames of one video most like the text, best first (not grouped into shots)."""
        text = read_query(query)
        vector, _ = self._text_vector(text)
        if not self.store.has_vectors:
            return []
        with self.timer("vector_search"):
            hits = self.store.vectors.search(vector, top_k, video_ids=[video_id])
        return [replace(h, score=frame_score(h.score)) for h in hits]

    def resolve_mode(
        self, mode: SearchMode | None, videos: Sequence[str] | None = None
    ) -> SearchMode:
        """The mode a text search runs in: as asked (a mode of lines needs lines of its sources
        indexed; hybrid without any line is visual), or hybrid where the searched videos have
        lines."""
        if mode is SearchMode.VISUAL:
            return mode
        if mode in (None, SearchMode.HYBRID):
            return SearchMode.HYBRID if self._has_cues(videos) else SearchMode.VISUAL
        if not self._has_cues(videos, MODE_SOURCES[mode]):
            if self.dialogue is None:
                raise QueryError(
                    f"{mode} search needs the dialogue index (subtitles, speech and screen "
                    "text are all off)"
                )
            where = f"video {', '.join(map(repr, videos))}" if videos else "indexed video"
            raise QueryError(
                f"no {_SOURCE_NAMES[mode]} indexed for any {where}: {mode} search has nothing "
                f"to search ({_SOURCE_HINTS[mode]}, and index them again)"
            )
        return mode

    # -- the branches -------------------------------------------------------------------
    def _unreadable(self, query: TextQuery) -> QueryError | None:
        """Why the frames' model cannot read the query's language (None: it can)."""
        if isinstance(self.encoder, ModelBundle):
            spec = self.encoder.spec
            if spec.text_for(query.language) is None:
                return unreadable_language(spec, query.language)
        return None

    def _text_vector(self, query: TextQuery) -> tuple[np.ndarray, EncoderChoice]:
        """The query's vector in the frames' space, from the text encoder for its language."""
        with self.timer("encode"), self._text_lock:
            if isinstance(self.encoder, ModelBundle):
                return self.encoder.encode_query(query.for_encoders, query.language, prepared=True)
            vector = self.encoder.encode_texts([query.for_encoders])[0]
            return vector, EncoderChoice(self.encoder.name, self.encoder.name, query.language)

    def _frames(
        self, vector: np.ndarray, limit: int, scope: _Scope, min_score: float | None
    ) -> list[FrameHit]:
        """The nearest frames, scored on the 0-1 scale (`frame_score`), at least `min_score`."""
        if not self.store.has_vectors:
            return []
        floor = None if min_score is None else 2 * min_score - 1  # as a cosine
        with self.timer("vector_search"):
            hits = self.store.vectors.search(
                vector, limit, video_ids=scope.video_ids, min_score=floor
            )
        return [
            replace(h, score=frame_score(h.score))
            for h in hits
            if h.video_id in scope.records  # points of removed videos
        ]

    def _lines(
        self,
        query: TextQuery,
        top_k: int,
        scope: _Scope,
        notes: list[str],
        sources: frozenset[TextSource],
    ) -> tuple[list, list]:
        """Lines of `sources` by meaning and by words (restricted to the quoted phrases); by
        words alone when the sentence model cannot be loaded (said in `notes`)."""
        assert self.dialogue is not None
        limit = max(MIN_DIALOGUE_CANDIDATES, top_k * DIALOGUE_CANDIDATES_PER_MOMENT)
        sentence = None
        with self.timer("encode"), self._text_lock:
            words = self.dialogue.query_words(query.for_words)
            try:
                sentence = self.dialogue.embed_query(query.for_encoders)
            except ModelError as exc:
                notes.append(f"dialogue lines were matched by their words only: {exc}")
        index, phrases = self.store.dialogue, list(query.phrases)
        where = {"video_ids": scope.video_ids, "phrases": phrases, "sources": sources}
        with self.timer("vector_search"):
            meaning = index.search_meaning(sentence, limit, **where) if sentence is not None else []
            matched = index.search_words(words, limit, **where)
        return (
            [h for h in meaning if h.video_id in scope.records],
            [h for h in matched if h.video_id in scope.records],
        )

    # -- moments ------------------------------------------------------------------------
    def _visual_moments(
        self, hits: list[FrameHit], top_k: int, scope: _Scope, min_score: float | None
    ) -> list[Moment]:
        moments = []
        for group in group_hits([h for h in hits if _kept(h.score, min_score)], top_k):
            record = scope.records[group.video_id]
            moments.append(
                Moment(
                    video=record.name,
                    path=record.path,
                    video_id=record.video_id,
                    start=group.start,
                    end=group.end,
                    timestamp=group.best.timestamp,
                    score=group.best.score,
                    shot=group.shot,
                    thumbnail=self._thumbnail(group.video_id, group.best.pts),
                    frames=[(h.timestamp, h.score) for h in group.hits],
                    thumbnail_pts=group.best.pts,
                )
            )
        return moments

    def _fused_moment(self, window: Window, record: VideoRecord) -> Moment:
        pts, timestamp = window.anchor
        return Moment(
            video=record.name,
            path=record.path,
            video_id=record.video_id,
            start=window.start,
            end=window.end,
            timestamp=timestamp if timestamp is not None else window.start,
            score=window.score,
            shot=window.shot,
            thumbnail=self._thumbnail(window.video_id, pts) if pts is not None else None,
            frames=[(h.timestamp, h.score) for h in window.frames],
            why=window.why,
            dialogue=window.best_lines(),
            thumbnail_pts=pts,
        )

    def _thumbnail(self, video_id: str, pts: int) -> str | None:
        path = self.store.thumbnails.path_for(video_id, pts)
        return str(path) if path.is_file() else None

    # -- scope --------------------------------------------------------------------------
    def _has_cues(
        self, videos: Sequence[str] | None, sources: frozenset[TextSource] | None = None
    ) -> bool:
        """Whether the videos (None: any) have lines of `sources` (None: any)."""
        if self.dialogue is None or not self.store.has_dialogue:
            return False
        index = self.store.dialogue
        if not videos:
            return index.count(sources=sources) > 0
        records = {r.name: r.video_id for r in self.store.catalog.videos()}
        return any(index.count(records[v], sources=sources) > 0 for v in videos if v in records)

    def _require_vectors(self) -> None:
        if not self.store.has_vectors:
            raise EmptyIndexError(
                f"the index in {self.store.where} is empty: index some videos first"
            )

    def _scope(self, videos: Sequence[str] | None) -> _Scope:
        """The catalog by video id, and the ids of the named videos (None: all)."""
        records = {r.video_id: r for r in self.store.catalog.videos()}
        if not videos:
            return _Scope(records, None)
        by_name = {r.name: r.video_id for r in records.values()}
        missing = [v for v in videos if v not in by_name]
        if missing:
            raise QueryError(
                f"no indexed video named {', '.join(map(repr, missing))}; "
                "`vidsearch videos` lists them"
            )
        return _Scope(records, [by_name[v] for v in videos])


# What a mode of lines lacks when none is indexed, and how to get some.
_SOURCE_NAMES = {
    SearchMode.DIALOGUE: "subtitles or transcribed speech are",
    SearchMode.SCREEN: "text on screen is",
    SearchMode.TEXT: "lines (subtitles, speech, text on screen) are",
}
_SOURCE_HINTS = {
    SearchMode.DIALOGUE: "put .srt, .vtt or .ass files next to the videos, use videos with "
    "subtitle streams, or turn on speech transcription (VIDSEARCH_SPEECH=auto, the speech "
    "extra and an ASR model)",
    SearchMode.SCREEN: "turn on VIDSEARCH_SCREEN_TEXT with Tesseract installed: sudo apt-get "
    "install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fas",
    SearchMode.TEXT: "add subtitles, or turn on speech transcription or on-screen text",
}


def frame_score(cosine: float) -> float:
    """A frame's cosine similarity to the query on the 0-1 scale of every mode:
    (1 + cosine) / 2, so 1 is the same direction and 0.5 unrelated."""
    return min(1.0, max(0.0, (1.0 + cosine) / 2))


def _kept(score: float, min_score: float | None) -> bool:
    """Moments score 0-1 in every mode: at least `min_score` when given, else above 0 (a
    window no channel supports)."""
    return score > 0 if min_score is None else score >= min_score


def _frame_limit(top_k: int) -> int:
    return min(MAX_CANDIDATES, max(MIN_CANDIDATES, top_k * CANDIDATES_PER_MOMENT))


def _check_options(top_k: int, min_score: float | None) -> None:
    if not 1 <= top_k <= MAX_TOP_K:
        raise QueryError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
    if min_score is not None and not -1.0 <= min_score <= 1.0:
        raise QueryError(f"min_score must be between -1 and 1, not {min_score}")
