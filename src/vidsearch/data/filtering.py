"""The filter step: keep the translations that still mean what their original meant.

Each translation and its original are embedded by one multilingual sentence encoder
(default `sentence-transformers/distiluse-base-multilingual-cased-v2`, as the seed did); their
cosine similarity is stored on the caption. Cheap checks come first and need no model: an
empty answer, an answer equal to the original (an untranslated echo) or one without a single
letter of the target language's script is rejected outright. Then either a `threshold` keeps
pairs scoring at least that, or a `top_fraction` keeps the best that fraction. Rejected
translations stay in the dataset with `keep = false` and the reason, so a rerun with another
rule needs no model; scores are computed once (per batch, resumable).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vidsearch.data.dataset import Dataset
from vidsearch.data.errors import DataError
from vidsearch.data.progress import NoProgress, Progress
from vidsearch.data.records import CaptionRecord, Rejection

DEFAULT_ENCODER = "sentence-transformers/distiluse-base-multilingual-cased-v2"
DEFAULT_THRESHOLD = 0.5
DEFAULT_BATCH = 64
HISTOGRAM_BINS = 20
QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
REPORT_FILE = "reports/filter.json"
_ARABIC_LETTERS = re.compile("[\u0621-\u064a\u067e-\u06d5]")
SCRIPTS = {"fa": _ARABIC_LETTERS, "ar": _ARABIC_LETTERS, "ur": _ARABIC_LETTERS}


class SentenceEncoder(Protocol):
    """What the filter needs of an encoder (`vidsearch.encoders.TextEncoder` fits)."""

    @property
    def name(self) -> str: ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class FilterRule:
    """Keep pairs scoring >= `threshold`, or the best `top_fraction` of them; one of the two."""

    threshold: float | None = None
    top_fraction: float | None = None

    def __post_init__(self) -> None:
        if (self.threshold is None) == (self.top_fraction is None):
            raise DataError("give either a similarity threshold or a top fraction (one of them)")
        if self.threshold is not None and not -1.0 <= self.threshold <= 1.0:
            raise DataError(
                f"the threshold is a cosine similarity in [-1, 1], not {self.threshold}"
            )
        if self.top_fraction is not None and not 0.0 < self.top_fraction <= 1.0:
            raise DataError(f"the top fraction must be in (0, 1], not {self.top_fraction}")

    def cutoff(self, scores: np.ndarray) -> float:
        """The lowest score kept."""
        if self.threshold is not None:
            return self.threshold
        if scores.size == 0:
            return math.inf
        count = math.ceil(self.top_fraction * scores.size)  # type: ignore[operator]
        return float(np.sort(scores)[::-1][count - 1])

    def to_json(self) -> dict[str, float]:
        if self.threshold is not None:
            return {"threshold": self.threshold}
        return {"top_fraction": float(self.top_fraction)}  # type: ignore[arg-type]


def precheck(caption: CaptionRecord) -> Rejection | None:
    """The reason to reject a translation without embedding it, if there is one."""
    text = caption.caption.strip()
    if not text:
        return Rejection.EMPTY
    if caption.original is not None and text.casefold() == caption.original.strip().casefold():
        return Rejection.UNTRANSLATED
    script = SCRIPTS.get(caption.language)
    if script is not None and not script.search(text):
        return Rejection.SCRIPT
    return None


def score_translations(
    dataset: Dataset,
    encoder: SentenceEncoder,
    *,
    language: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    rescore: bool = False,
    progress: Progress | None = None,
) -> int:
    """Store the similarity of every translation that passes `precheck` and has none yet
    (all of them with `rescore`); returns how many were scored."""
    progress = progress or NoProgress()
    todo = [
        c
        for c in dataset.captions(language=language, include_rejected=True)
        if c.is_translation and (rescore or c.similarity is None) and precheck(c) is None
    ]
    progress.start("score translations", len(todo))
    try:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            scores = similarities(
                encoder, [c.original or "" for c in batch], [c.caption for c in batch]
            )
            for caption, score in zip(batch, scores, strict=True):
                dataset.upsert_caption(caption.with_changes(similarity=round(float(score), 6)))
            dataset.flush()
            progress.advance(len(batch))
    finally:
        progress.finish()
    return len(todo)


def similarities(encoder: SentenceEncoder, left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """Cosine similarity of each pair (texts are embedded once each)."""
    unique = list(dict.fromkeys([*left, *right]))
    vectors = np.asarray(encoder.encode_texts(unique), dtype=np.float32)
    if vectors.shape[0] != len(unique):
        raise DataError(
            f"the encoder {encoder.name} returned {vectors.shape[0]} vectors for "
            f"{len(unique)} texts"
        )
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors = vectors / norms
    row = {text: i for i, text in enumerate(unique)}
    a = vectors[[row[t] for t in left]]
    b = vectors[[row[t] for t in right]]
    return np.einsum("ij,ij->i", a, b)


def apply_rule(
    dataset: Dataset, rule: FilterRule, *, language: str | None = None, encoder_name: str = ""
) -> dict[str, Any]:
    """Mark each translation kept or rejected by the prechecks and `rule`; write and return
    the report (counts, cutoff, the similarity distribution)."""
    translations = [
        c for c in dataset.captions(language=language, include_rejected=True) if c.is_translation
    ]
    reasons = {c.key: precheck(c) for c in translations}
    scored = [c for c in translations if reasons[c.key] is None and c.similarity is not None]
    scores = np.array([c.similarity for c in scored], dtype=np.float64)
    cutoff = rule.cutoff(scores)
    ranked = sorted(scored, key=lambda c: -float(c.similarity))  # type: ignore[arg-type]
    allowed = (
        len(ranked)
        if rule.threshold is not None
        else math.ceil((rule.top_fraction or 0) * len(ranked))
    )
    chosen = {c.key for c in ranked[:allowed] if c.similarity >= cutoff}  # type: ignore[operator]
    for caption in translations:
        reason = reasons[caption.key]
        if reason is None and caption.similarity is None:
            continue  # not scored yet: left as it is
        if reason is None and caption.key not in chosen:
            reason = Rejection.SIMILARITY
        dataset.upsert_caption(caption.with_changes(keep=reason is None, rejection=reason))
    dataset.flush()
    rejected = Counter(r.value for r in reasons.values() if r is not None)
    rejected["similarity"] = len(scored) - len(chosen)
    unscored = sum(1 for c in translations if reasons[c.key] is None and c.similarity is None)
    report = {
        "encoder": encoder_name,
        "language": language,
        "rule": rule.to_json(),
        "cutoff": None if math.isinf(cutoff) else round(cutoff, 6),
        "translations": len(translations),
        "kept": len(chosen),
        "rejected": {k: v for k, v in sorted(rejected.items()) if v},
        "unscored": unscored,
        "similarity": distribution(scores),
    }
    path = dataset.root / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report | {"report_file": str(path)}


def distribution(scores: np.ndarray) -> dict[str, Any]:
    """Count, mean, standard deviation, quantiles and a histogram over [-1, 1]."""
    if scores.size == 0:
        return {"count": 0}
    counts, edges = np.histogram(np.clip(scores, -1, 1), bins=HISTOGRAM_BINS, range=(-1.0, 1.0))
    return {
        "count": int(scores.size),
        "mean": round(float(scores.mean()), 6),
        "std": round(float(scores.std()), 6),
        "quantiles": {f"{q:g}": round(float(np.quantile(scores, q)), 6) for q in QUANTILES},
        "histogram": {
            "edges": [round(float(e), 3) for e in edges],
            "counts": [int(c) for c in counts],
        },
    }


def filter_translations(
    dataset: Dataset,
    encoder: SentenceEncoder,
    rule: FilterRule,
    *,
    language: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    rescore: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score what is unscored, then apply `rule`; the report with the time it took."""
    started = time.perf_counter()
    scored = score_translations(
        dataset,
        encoder,
        language=language,
        batch_size=batch_size,
        rescore=rescore,
        progress=progress,
    )
    seconds = time.perf_counter() - started
    report = apply_rule(dataset, rule, language=language, encoder_name=encoder.name)
    rate = scored / seconds if seconds and scored else 0.0
    return report | {
        "scored_now": scored,
        "score_seconds": round(seconds, 3),
        "pairs_per_second": round(rate, 1),
    }


def read_report(root: Path) -> dict[str, Any] | None:
    path = Path(root) / REPORT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
