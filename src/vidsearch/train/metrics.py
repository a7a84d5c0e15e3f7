"""Text -> image retrieval metrics: Recall@k, and what chance would score.

Each query is one distinct caption text; the images relevant to it are every image that has
that caption (a world of shapes repeats simple scenes, and a ranking cannot tell identical
captions apart). Recall@k is the fraction of queries with a relevant image among the k best
(ranked by `vidsearch.evaluation.metrics`, ties counted against the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np

from vidsearch.evaluation.metrics import TiePolicy, ranks, recall_at_k

DEFAULT_KS = (1, 5, 10)
PRIMARY = "recall_at_1"  # the metric that picks the best epoch and the best run


def metric_name(k: int) -> str:
    return f"recall_at_{k}"  # MLflow metric names allow no "@"


@dataclass(frozen=True)
class RetrievalSet:
    queries: tuple[str, ...]
    relevant: tuple[frozenset[int], ...]  # rows of `image_ids`, per query
    image_ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.queries)

    def relevance(self) -> np.ndarray:
        """The queries x images boolean matrix of ground truths."""
        matrix = np.zeros((len(self.queries), len(self.image_ids)), dtype=bool)
        for query, rows in enumerate(self.relevant):
            matrix[query, list(rows)] = True
        return matrix

    def recall(
        self, text_vectors: np.ndarray, image_vectors: np.ndarray, ks: Sequence[int] = DEFAULT_KS
    ) -> dict[str, float]:
        """Recall@k of unit query vectors (one per query) against unit image vectors; ties
        count against the model (an untrained model's equal scores earn nothing)."""
        if len(text_vectors) != len(self.queries) or len(image_vectors) != len(self.image_ids):
            raise ValueError("one vector per query and per image is needed")
        similarity = np.asarray(text_vectors, np.float32) @ np.asarray(image_vectors, np.float32).T
        query_ranks = ranks(similarity, self.relevance(), TiePolicy.PESSIMISTIC)
        return {metric_name(k): value for k, value in recall_at_k(query_ranks, ks).items()}

    def chance(self, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
        """Expected Recall@k of a random ranking."""
        n = len(self.image_ids)
        return {
            metric_name(k): float(
                np.mean([1 - comb(n - len(rel), k) / comb(n, k) for rel in self.relevant])
            )
            for k in ks
        }
