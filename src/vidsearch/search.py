"""Answer a query (text or image) with the best-matching moments of the indexed videos."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vidsearch.config import DEFAULT_TOP_K
from vidsearch.encoders.base import Encoder
from vidsearch.encoders.model_bundle import EncoderChoice, encode_query, image_choice
from vidsearch.errors import QueryError
from vidsearch.index.store import IndexStore
from vidsearch.moments import group_hits
from vidsearch.types import Moment

MAX_TOP_K = 1000
MAX_QUERY_CHARS = 1000
# Frames fetched per requested moment: several hits usually fall in one shot.
CANDIDATES_PER_MOMENT = 10
MIN_CANDIDATES = 100
MAX_CANDIDATES = 5000


@dataclass(slots=True)
class SearchResult:
    query: str
    moments: list[Moment]
    encoder: EncoderChoice | None = None  # which encoder embedded the query, when known

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "query": self.query,
            "moments": [m.to_json() for m in self.moments],
        }
        if self.encoder is not None:
            data["encoder"] = self.encoder.to_json()
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
    """Searches an open IndexStore with the encoder that built it."""

    def __init__(self, store: IndexStore, encoder: Encoder) -> None:
        self.store = store
        self.encoder = encoder
        if store.model_identity is None:
            raise QueryError(f"the index in {store.where} is empty: index some videos first")
        store.bind_model(encoder.identity, encoder.name, encoder.dim)

    def search_text(
        self, query: str, *, language: str | None = None, **options: object
    ) -> SearchResult:
        """`language` (ISO 639-1) overrides the one detected from the query's script; it picks
        the bundle's text encoder (see encoders/model_bundle.py)."""
        query = query.strip()
        if not query:
            raise QueryError("empty query: type some words to search for")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"query too long ({len(query)} characters, at most {MAX_QUERY_CHARS})")
        vector, choice = encode_query(self.encoder, query, language)
        result = self.search_vector(vector, query, **options)  # type: ignore[arg-type]
        result.encoder = choice
        return result

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
        if not 1 <= top_k <= MAX_TOP_K:
            raise QueryError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
        if min_score is not None and not -1.0 <= min_score <= 1.0:
            raise QueryError(f"min_score must be between -1 and 1, not {min_score}")
        catalog = self.store.catalog
        records = {r.video_id: r for r in catalog.videos()}
        video_ids = None
        if videos:
            by_name = {r.name: r.video_id for r in records.values()}
            missing = [v for v in videos if v not in by_name]
            if missing:
                raise QueryError(
                    f"no indexed video named {', '.join(map(repr, missing))}; "
                    "`vidsearch videos` lists them"
                )
            video_ids = [by_name[v] for v in videos]
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
                )
            )
        return SearchResult(label, moments)
