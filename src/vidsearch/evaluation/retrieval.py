"""Text→image and image→text retrieval on a captioned test set, for one or more models.

Gallery images are embedded once per image encoder (two bundles sharing an image encoder,
e.g. `clip-b32` and `multilingual-b32`, share the vectors); captions are embedded per
language through the bundle's routing, as a search would read them. A *query encoder* is
anything that turns (texts, language) into unit vectors:

- `BundleQueries(bundle)`: the text encoder the bundle routes that language to;
- `TranslatedQueries(bundle, translator)`: the translate-then-English-CLIP baseline — each
  query translated to English by a `vidsearch.data.translate.Translator`, then read by the
  bundle's English text encoder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidsearch.encoders.base import Encoder, l2_normalize
from vidsearch.encoders.model_bundle import ModelBundle, prepare_query
from vidsearch.evaluation import metrics
from vidsearch.evaluation.bootstrap import DEFAULT_ROUNDS, Comparison, compare, interval
from vidsearch.evaluation.errors import EvaluationError
from vidsearch.evaluation.loaders import RetrievalSet

ENGLISH = "en"
IMAGE_BATCH = 32
HISTOGRAM_BINS = np.linspace(-1.0, 1.0, 81)  # cosine similarity, 0.025 wide
CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)

QueryEncoder = Callable[[Sequence[str], str], np.ndarray]


class BundleQueries:
    """Queries read by the text encoder `encoder` routes their language to."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def __call__(self, texts: Sequence[str], language: str) -> np.ndarray:
        prepared = [prepare_query(t, language) for t in texts]
        if isinstance(self.encoder, ModelBundle):
            spec, _ = self.encoder.route(prepared[0] if prepared else "", language)
            return l2_normalize(self.encoder.text_encoder(spec).encode_texts(prepared))
        return l2_normalize(self.encoder.encode_texts(prepared))


class TranslatedQueries:
    """The translate-then-English baseline: queries translated to English, then embedded."""

    def __init__(self, encoder: Encoder, translator: Any, target: str = ENGLISH) -> None:
        self.english = BundleQueries(encoder)
        self.translator = translator  # a vidsearch.data.translate.Translator
        self.target = target

    def __call__(self, texts: Sequence[str], language: str) -> np.ndarray:
        if language != self.target:
            texts = self.translator.translate(list(texts), language, self.target)
        return self.english(texts, self.target)


def embed_images(encoder: Encoder, paths: Sequence[Path], batch: int = IMAGE_BATCH) -> np.ndarray:
    """Unit vectors of the gallery images, in order."""
    from PIL import Image

    rows = []
    for start in range(0, len(paths), batch):
        arrays = []
        for path in paths[start : start + batch]:
            with Image.open(path) as image:
                arrays.append(np.asarray(image.convert("RGB")))
        rows.append(encoder.encode_images(arrays))
    if not rows:
        return np.zeros((0, encoder.dim), np.float32)
    return l2_normalize(np.concatenate(rows))


@dataclass(slots=True)
class RetrievalResult:
    """One model on one test set and language: per-query ranks and the metrics from them."""

    label: str
    language: str
    ks: tuple[int, ...]
    text_ranks: np.ndarray  # one per distinct caption text (text→image)
    image_ranks: np.ndarray  # one per image (image→text: any of its captions)
    accuracy: dict[int, float]  # the seed's Acc@k
    relevant_histogram: list[int] = field(default_factory=list)  # over HISTOGRAM_BINS
    irrelevant_histogram: list[int] = field(default_factory=list)
    score_quantiles: dict[str, dict[str, float]] = field(default_factory=dict)

    def recall(self, direction: str, k: int) -> np.ndarray:
        """Per-query hits at k, 'text' (→image) or 'image' (→text): for bootstraps."""
        return metrics.hits_at_k(self.text_ranks if direction == "text" else self.image_ranks, k)

    def to_json(self, rounds: int = DEFAULT_ROUNDS, seed: int = 0) -> dict[str, Any]:
        def direction(ranks: np.ndarray) -> dict[str, Any]:
            return {
                "queries": int(ranks.size),
                "recall": {
                    f"R@{k}": interval(
                        metrics.hits_at_k(ranks, k), rounds=rounds, seed=seed
                    ).to_json()
                    for k in self.ks
                },
                **metrics.rank_summary(ranks),
                "curve": {
                    str(k): v
                    for k, v in metrics.recall_at_k(
                        ranks, sorted(set(CURVE_KS) | set(self.ks))
                    ).items()
                    if k <= max(int(ranks.max()), max(self.ks))
                },
            }

        return {
            "label": self.label,
            "language": self.language,
            "text_to_image": direction(self.text_ranks),
            "image_to_text": direction(self.image_ranks),
            "accuracy": {f"Acc@{k}": v for k, v in self.accuracy.items()},
            "scores": {
                "bins": [round(float(b), 4) for b in HISTOGRAM_BINS],
                "relevant": self.relevant_histogram,
                "irrelevant": self.irrelevant_histogram,
                "quantiles": self.score_quantiles,
            },
        }


def score(
    test: RetrievalSet,
    image_vectors: np.ndarray,
    text_vectors: np.ndarray,
    *,
    label: str,
    language: str,
    ks: Sequence[int] = metrics.DEFAULT_KS,
    ties: metrics.TiePolicy = metrics.TiePolicy.PESSIMISTIC,
) -> RetrievalResult:
    """Ranks and metrics from the embedded gallery and queries of `test` (one vector per
    distinct caption text, `test.queries`: identical captions are one query, and any of
    their images is a hit)."""
    if image_vectors.shape[0] != len(test.images) or text_vectors.shape[0] != len(test.queries):
        raise EvaluationError("the vectors do not match the test set's images and queries")
    similarity = text_vectors.astype(np.float64) @ image_vectors.astype(np.float64).T
    relevant = test.relevance()
    pairs = similarity[test.first_queries()]  # each image with its first caption: Acc@k
    positive, negative = similarity[relevant], similarity[~relevant]
    quantiles = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
    return RetrievalResult(
        label=label,
        language=language,
        ks=tuple(ks),
        text_ranks=metrics.ranks(similarity, relevant, ties),
        image_ranks=metrics.ranks(similarity.T, relevant.T, ties),
        accuracy=metrics.accuracy_at_k(pairs, ks, ties),
        relevant_histogram=np.histogram(positive, HISTOGRAM_BINS)[0].tolist(),
        irrelevant_histogram=np.histogram(negative, HISTOGRAM_BINS)[0].tolist(),
        score_quantiles={
            name: {str(q): round(float(np.quantile(values, q)), 4) for q in quantiles}
            for name, values in (("relevant", positive), ("irrelevant", negative))
            if values.size
        },
    )


@dataclass(frozen=True, slots=True)
class Contender:
    """A model to evaluate: the encoder of its gallery images and how it reads queries."""

    label: str
    images: Encoder
    queries: QueryEncoder


class RetrievalEvaluator:
    """Evaluates contenders on one test set; gallery vectors are cached per image space."""

    def __init__(self, test: RetrievalSet, *, ks: Sequence[int] = metrics.DEFAULT_KS) -> None:
        self.test = test
        self.ks = tuple(sorted(set(ks)))
        self._galleries: dict[str, np.ndarray] = {}

    def gallery(self, encoder: Encoder) -> np.ndarray:
        if encoder.identity not in self._galleries:
            self._galleries[encoder.identity] = embed_images(encoder, self.test.images)
        return self._galleries[encoder.identity]

    def __call__(self, contender: Contender, language: str) -> RetrievalResult:
        test = self.test.in_language(language)
        gallery = self.gallery(contender.images)
        if len(test.images) != len(self.test.images):  # captions of that language only
            position = {image_id: i for i, image_id in enumerate(self.test.image_ids)}
            keep = [position[i] for i in test.image_ids]
            gallery = gallery[keep]
        texts = contender.queries(list(test.queries), language)
        return score(test, gallery, texts, label=contender.label, language=language, ks=self.ks)


def compare_results(
    a: RetrievalResult, b: RetrievalResult, *, rounds: int = DEFAULT_ROUNDS, seed: int = 0
) -> dict[str, Comparison]:
    """Paired bootstraps of A − B for every Recall@k, both directions (same queries)."""
    if a.text_ranks.shape != b.text_ranks.shape or a.image_ranks.shape != b.image_ranks.shape:
        raise EvaluationError("the two results are not on the same queries")
    result = {}
    for direction, name in (("text", "text_to_image"), ("image", "image_to_text")):
        for k in a.ks:
            result[f"{name} R@{k}"] = compare(
                a.recall(direction, k), b.recall(direction, k), rounds=rounds, seed=seed
            )
    return result


def retrieval_report(
    test: RetrievalSet,
    language: str,
    results: Sequence[RetrievalResult],
    *,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    compare_by: str | None = None,
) -> dict[str, Any]:
    """The JSON report `vidsearch eval retrieval` writes: the setup, every result (CIs over
    `rounds` bootstrap resamples), a flat metrics table per label, and with two results the
    paired comparison of the first minus the second, summarised on `compare_by` (default
    text→image Recall at the smallest k)."""
    data: dict[str, Any] = {
        "setup": {
            "test set": test.name,
            "language": language,
            "images": len(test.images),
            "captions": len(test.captions),
            "queries": len(test.queries),
            "shared captions": int((test.relevance().sum(axis=1) > 1).sum()),
            "identical captions": "one query; any image with that caption is a hit",
            "ties": "pessimistic",
            "bootstrap rounds": rounds,
        },
        "results": [r.to_json(rounds=rounds, seed=seed) for r in results],
    }
    data["metrics"] = {
        r["label"]: {
            **{f"t2i {m}": v["value"] for m, v in r["text_to_image"]["recall"].items()},
            **{f"i2t {m}": v["value"] for m, v in r["image_to_text"]["recall"].items()},
            **r["accuracy"],
        }
        for r in data["results"]
    }
    if len(results) == 2:
        a, b = results
        comparison = compare_results(a, b, rounds=rounds, seed=seed)
        metric = compare_by or f"text_to_image R@{a.ks[0]}"
        if metric not in comparison:
            raise EvaluationError(f"no metric {metric!r} to compare by: {', '.join(comparison)}")
        data["comparison"] = {
            "a": a.label,
            "b": b.label,
            "summary": f"{metric}: " + comparison[metric].verdict(a.label, b.label),
            "metrics": {m: c.to_json() for m, c in comparison.items()},
        }
    return data
