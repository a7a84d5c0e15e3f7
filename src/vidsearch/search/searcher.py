"""Answer a query (text or image) with the best-matching moments of the indexed videos.

A text query searches the frames (`visual`), the subtitles (`dialogue`) or both (`hybrid`,
the default wherever subtitles are indexed; see dialogue/fusion.py). Quoted parts of a query
("never come back") are phrases a dialogue line must contain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vidsearch.config import DEFAULT_TOP_K
from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.fusion import DEFAULT_FUSION, FusionMethod, Window, fuse
from vidsearch.encoders.base import Encoder
from vidsearch.encoders.model_bundle import EncoderChoice, encode_query, image_choice
from vidsearch.errors import QueryError
from vidsearch.index.keywords import split_phrases
from vidsearch.index.store import IndexStore
from vidsearch.moments import group_hits
from vidsearch.types import Moment, SearchMode, VideoRecord

MAX_TOP_K = 1000
MAX_QUERY_CHARS = 1000
# Frames fetched per requested moment: several hits usually fall in one shot.
CANDIDATES_PER_MOMENT = 10
MIN_CANDIDATES = 100
MAX_CANDIDATES = 5000
# Lines fetched per requested moment from each dialogue channel (meaning, words).
DIALOGUE_CANDIDATES_PER_MOMENT = 5
MIN_DIALOGUE_CANDIDATES = 50


@dataclass(slots=True)
class SearchResult:
    query: str
    moments: list[Moment]
    encoder: EncoderChoice | None = None  # which encoder embedded the query, when known
    mode: SearchMode | None = None  # what was searched (text queries)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "query": self.query,
            "moments": [m.to_json() for m in self.moments],
        }
        if self.encoder is not None:
            data["encoder"] = self.encoder.to_json()
        if self.mode is not None:
            data["mode"] = str(self.mode)
        return data


def load_query_image(path: Path) -> np.ndarray:
    """RGB pixels of an image file, or QueryError saying why it cannot be used."""
    if not path.is_file():
        raise QueryError(f"query image {path}: no such file")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise QueryError(f"query image {path}: not an image that can be read ({exc})") from None


class Searcher:
    """Searches an open IndexStore with the encoder that built it, and its dialogue with
    `dialogue` (None: frames only, whatever the index holds)."""

    def __init__(
        self,
        store: IndexStore,
        encoder: Encoder,
        *,
        dialogue: DialogueEncoder | None = None,
        fusion: FusionMethod = DEFAULT_FUSION,
        encode_text: Callable[[str, str | None], tuple[np.ndarray, EncoderChoice]] | None = None,
    ) -> None:
        """`encode_text(query, language)` embeds a query for the frames (default: the
        bundle's text encoder for its language; the service passes its locked, timed one)."""
        self.store = store
        self.encoder = encoder
        self.dialogue = dialogue
        self.fusion = fusion
        self.encode_text = encode_text or (lambda q, lang: encode_query(self.encoder, q, lang))
        if store.model_identity is None:
            raise QueryError(f"the index in {store.where} is empty: index some videos first")
        store.bind_model(encoder.identity, encoder.name, encoder.dim)

    def search_text(
        self,
        query: str,
        *,
        language: str | None = None,
        mode: SearchMode | None = None,
        **options: object,
    ) -> SearchResult:
        """`language` (ISO 639-1) overrides the one detected from the query's script; it picks
        the bundle's text encoder (see encoders/model_bundle.py). `mode` None: hybrid when
        the searched videos have indexed subtitles, else visual."""
        query = query.strip()
        if not query:
            raise QueryError("empty query: type some words to search for")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"query too long ({len(query)} characters, at most {MAX_QUERY_CHARS})")
        mode = self.resolve_mode(mode, options.get("videos"))  # type: ignore[arg-type]
        if mode is not SearchMode.VISUAL:
            return self._search_dialogue(query, language, mode, **options)  # type: ignore[arg-type]
        vector, choice = encode_query(self.encoder, query, language)
        result = self.search_vector(vector, query, **options)  # type: ignore[arg-type]
        result.encoder = choice
        result.mode = SearchMode.VISUAL
        return result

    def resolve_mode(
        self, mode: SearchMode | None, videos: Sequence[str] | None = None
    ) -> SearchMode:
        """The mode a text search runs in: as asked (dialogue needs indexed subtitles; hybrid
        without any is visual), or hybrid where the searched videos have subtitles."""
        if mode is SearchMode.VISUAL:
            return mode
        has_cues = self._has_cues(videos)
        if mode is SearchMode.DIALOGUE and not has_cues:
            if self.dialogue is None:
                raise QueryError("dialogue search needs a dialogue encoder (subtitles are off)")
            where = f"video {', '.join(map(repr, videos))}" if videos else "indexed video"
            raise QueryError(
                f"no subtitles are indexed for any {where}: dialogue search has nothing to "
                "search (put .srt, .vtt or .ass files next to the videos, or use videos with "
                "subtitle streams, and index them again)"
            )
        if mode is SearchMode.DIALOGUE:
            return mode
        return SearchMode.HYBRID if has_cues else SearchMode.VISUAL

    def _has_cues(self, videos: Sequence[str] | None) -> bool:
        if self.dialogue is None or not self.store.has_dialogue:
            return False
        index = self.store.dialogue
        if not videos:
            return index.count() > 0
        records = {r.name: r.video_id for r in self.store.catalog.videos()}
        return any(index.count(records[v]) > 0 for v in videos if v in records)

    def search_image(self, path: Path, **options: object) -> SearchResult:
        vector = self.encoder.encode_images([load_query_image(path)])[0]
        result = self.search_vector(vector, str(path), **options)  # type: ignore[arg-type]
        result.encoder = image_choice(self.encoder)
        return result

    def search_vector(
        self,
        vector: np.ndarray,
        label: str,
        *,
        top_k: int = DEFAULT_TOP_K,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        _check_options(top_k, min_score)
        records, video_ids = self._scope(videos)
        limit = min(MAX_CANDIDATES, max(MIN_CANDIDATES, top_k * CANDIDATES_PER_MOMENT))
        hits = self.store.vectors.search(vector, limit, video_ids=video_ids, min_score=min_score)
        hits = [h for h in hits if h.video_id in records]  # ignore points of removed videos
        moments = []
        for group in group_hits(hits, top_k):
            record = records[group.video_id]
            thumb = self.store.thumbnails.path_for(group.video_id, group.best.pts)
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
                    thumbnail=str(thumb) if thumb.is_file() else None,
                    frames=[(h.timestamp, h.score) for h in group.hits],
                    thumbnail_pts=group.best.pts,
                )
            )
        return SearchResult(label, moments)

    # -- dialogue and hybrid ----------------------------------------------------------
    def _search_dialogue(
        self,
        query: str,
        language: str | None,
        mode: SearchMode,
        *,
        top_k: int = DEFAULT_TOP_K,
        videos: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> SearchResult:
        """Dialogue lines by meaning and by words (restricted to the quoted phrases), fused
        with the frame hits in hybrid mode; `min_score` applies to frames only."""
        assert self.dialogue is not None
        _check_options(top_k, min_score)
        records, video_ids = self._scope(videos)
        plain, phrases = split_phrases(query)
        plain = plain or query
        frames, choice = [], None
        if mode is SearchMode.HYBRID:
            vector, choice = self.encode_text(plain, language)
            limit = min(MAX_CANDIDATES, max(MIN_CANDIDATES, top_k * CANDIDATES_PER_MOMENT))
            frames = self.store.vectors.search(
                vector, limit, video_ids=video_ids, min_score=min_score
            )
            frames = [h for h in frames if h.video_id in records]
        index = self.store.dialogue
        limit = max(MIN_DIALOGUE_CANDIDATES, top_k * DIALOGUE_CANDIDATES_PER_MOMENT)
        sentence = self.dialogue.embed([plain], [language])[0]
        meaning = index.search_meaning(sentence, limit, video_ids=video_ids, phrases=phrases)
        words = index.search_words(
            self.dialogue.query_words(plain), limit, video_ids=video_ids, phrases=phrases
        )
        meaning = [h for h in meaning if h.video_id in records]
        words = [h for h in words if h.video_id in records]
        windows = fuse(frames, meaning, words, top_k, method=self.fusion)
        moments = [self._moment(w, records[w.video_id]) for w in windows]
        return SearchResult(query, moments, choice, mode)

    def _moment(self, window: Window, record: VideoRecord) -> Moment:
        pts, timestamp = window.anchor
        thumb = self.store.thumbnails.path_for(window.video_id, pts) if pts is not None else None
        return Moment(
            video=record.name,
            path=record.path,
            video_id=record.video_id,
            start=window.start,
            end=window.end,
            timestamp=timestamp if timestamp is not None else window.start,
            score=window.fused,
            shot=window.shot,
            thumbnail=str(thumb) if thumb is not None and thumb.is_file() else None,
            frames=[(h.timestamp, h.score) for h in window.frames],
            why=window.why,
            dialogue=window.best_lines(),
            thumbnail_pts=pts,
        )

    def _scope(
        self, videos: Sequence[str] | None
    ) -> tuple[dict[str, VideoRecord], list[str] | None]:
        """The catalog by video id, and the ids of the named videos (None: all)."""
        records = {r.video_id: r for r in self.store.catalog.videos()}
        if not videos:
            return records, None
        by_name = {r.name: r.video_id for r in records.values()}
        missing = [v for v in videos if v not in by_name]
        if missing:
            raise QueryError(
                f"no indexed video named {', '.join(map(repr, missing))}; "
                "`vidsearch videos` lists them"
            )
        return records, [by_name[v] for v in videos]


def _check_options(top_k: int, min_score: float | None) -> None:
    if not 1 <= top_k <= MAX_TOP_K:
        raise QueryError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
    if min_score is not None and not -1.0 <= min_score <= 1.0:
        raise QueryError(f"min_score must be between -1 and 1, not {min_score}")
