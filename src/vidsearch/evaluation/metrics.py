"""Retrieval metrics, pure numpy: ranks, Recall@k in both directions, Acc@k.

A similarity matrix `scores` is (queries, gallery); `relevant` is a boolean matrix of the same
shape marking each query's ground truths (one or more: a Flickr30k image has five captions, so
image→text has five ground truths per query). Every query must have at least one.

**Rank of a query** (1-based): the rank of its best-placed ground truth, counting only
*irrelevant* gallery items above it — so a query's other ground truths never push it down
(the CLIP literature's "a query counts if one of its ground truths is in the top k").

**Ties** (`TiePolicy`): equal scores are common with quantised or untrained models.
`PESSIMISTIC` (the default) places every irrelevant item that ties with the best ground
truth above it, so a model cannot gain from ties (a constant model gets the worst rank,
not the best). `OPTIMISTIC` places them below. Published numbers rarely say; with float
scores from a trained model, both give the same figures.

**Recall@k**: the fraction of queries whose rank is at most k. A k at or beyond the gallery
size counts every query (1.0).

**Acc@k** (the seed's metric, as we read it): the in-batch accuracy CLIP-style training code
reports. Images and captions are paired one to one (N pairs: each image with one caption);
on the N×N similarity matrix, the fraction of rows whose diagonal entry is in the row's top
k, averaged over both directions (text→image and image→text). Unlike Recall@k it ignores an
image's other captions, and it depends on N (the "batch"), so it is only comparable at the
same N.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import numpy as np

from vidsearch.evaluation.errors import EvaluationError


class TiePolicy(StrEnum):
    PESSIMISTIC = "pessimistic"  # irrelevant items tied with the ground truth rank above it
    OPTIMISTIC = "optimistic"  # ... below it


DEFAULT_KS = (1, 5, 10)


def _check(scores: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.ndim != 2 or scores.shape != relevant.shape:
        raise EvaluationError(
            f"scores {scores.shape} and relevance {relevant.shape} must be equal 2-d matrices"
        )
    missing = ~relevant.any(axis=1)
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise EvaluationError(
            f"{int(missing.sum())} queries without ground truth (first: #{first})"
        )
    return scores, relevant


def ranks(
    scores: np.ndarray, relevant: np.ndarray, ties: TiePolicy = TiePolicy.PESSIMISTIC
) -> np.ndarray:
    """The 1-based rank of each query's best-placed ground truth (int array, one per query)."""
    scores, relevant = _check(scores, relevant)
    best = np.where(relevant, scores, -np.inf).max(axis=1, keepdims=True)
    irrelevant = ~relevant
    above = (irrelevant & (scores > best)).sum(axis=1)
    if ties is TiePolicy.PESSIMISTIC:
        above += (irrelevant & (scores == best)).sum(axis=1)
    return (above + 1).astype(np.int64)


def hits_at_k(query_ranks: np.ndarray, k: int) -> np.ndarray:
    """1.0 where the query's rank is within the top k, else 0.0 (per query: for bootstraps)."""
    if k < 1:
        raise EvaluationError(f"k must be at least 1, not {k}")
    return (np.asarray(query_ranks) <= k).astype(np.float64)


def recall_at_k(query_ranks: np.ndarray, ks: Iterable[int] = DEFAULT_KS) -> dict[int, float]:
    """{k: Recall@k} from per-query ranks."""
    query_ranks = np.asarray(query_ranks)
    if query_ranks.size == 0:
        raise EvaluationError("no queries")
    return {k: float(hits_at_k(query_ranks, k).mean()) for k in ks}


def rank_summary(query_ranks: np.ndarray) -> dict[str, float]:
    """Mean and median rank (1 is best)."""
    query_ranks = np.asarray(query_ranks, dtype=np.float64)
    if query_ranks.size == 0:
        raise EvaluationError("no queries")
    return {"mean_rank": float(query_ranks.mean()), "median_rank": float(np.median(query_ranks))}


def text_to_image_ranks(
    similarity: np.ndarray, caption_image: np.ndarray, ties: TiePolicy = TiePolicy.PESSIMISTIC
) -> np.ndarray:
    """Ranks of captions (rows of `similarity`, captions × images) given each caption's image
    index `caption_image`."""
    return ranks(similarity, relevance(caption_image, similarity.shape[1]), ties)


def image_to_text_ranks(
    similarity: np.ndarray, caption_image: np.ndarray, ties: TiePolicy = TiePolicy.PESSIMISTIC
) -> np.ndarray:
    """Ranks of images (columns of `similarity`); every caption of an image is its ground
    truth. An image without captions cannot be a query: give only images with captions."""
    return ranks(similarity.T, relevance(caption_image, similarity.shape[1]).T, ties)


def relevance(caption_image: np.ndarray, images: int) -> np.ndarray:
    """The captions × images relevance matrix from each caption's image index."""
    caption_image = np.asarray(caption_image, dtype=np.int64)
    if caption_image.size and (caption_image.min() < 0 or caption_image.max() >= images):
        raise EvaluationError(f"caption image indices must be in 0..{images - 1}")
    matrix = np.zeros((caption_image.size, images), dtype=bool)
    matrix[np.arange(caption_image.size), caption_image] = True
    return matrix


def accuracy_at_k(
    pair_similarity: np.ndarray,
    ks: Iterable[int] = DEFAULT_KS,
    ties: TiePolicy = TiePolicy.PESSIMISTIC,
) -> dict[int, float]:
    """The seed's Acc@k on an N×N matrix of paired captions (rows) and images (columns):
    the diagonal in the top k, averaged over rows and columns."""
    pair_similarity = np.asarray(pair_similarity, dtype=np.float64)
    n = pair_similarity.shape[0]
    if pair_similarity.ndim != 2 or pair_similarity.shape != (n, n) or n == 0:
        raise EvaluationError(f"Acc@k needs a non-empty square matrix, not {pair_similarity.shape}")
    eye = np.eye(n, dtype=bool)
    rows = ranks(pair_similarity, eye, ties)
    columns = ranks(pair_similarity.T, eye, ties)
    return {k: float((hits_at_k(rows, k).mean() + hits_at_k(columns, k).mean()) / 2) for k in ks}
