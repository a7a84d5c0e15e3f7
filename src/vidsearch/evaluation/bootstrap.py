"""Bootstrap confidence intervals over queries, and the paired comparison of two models.

Both models answer the *same* queries, so the honest comparison resamples queries once per
round and recomputes both models' metric on that one resample (a paired bootstrap): the
spread of the difference then reflects only how much the verdict depends on which queries
happened to be in the test set, not the query difficulty both models share.

A difference is called significant when its two-sided confidence interval (percentile
method, `confidence` 0.95 by default) excludes zero; `p_value` is the two-sided bootstrap
p-value (twice the smaller tail of the resampled differences around zero).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from vidsearch.evaluation.errors import EvaluationError

DEFAULT_ROUNDS = 2000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_SEED = 0


@dataclass(frozen=True, slots=True)
class Interval:
    value: float  # the metric on all queries
    low: float
    high: float
    confidence: float

    def to_json(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Model A minus model B on one metric, over the same queries."""

    a: float
    b: float
    difference: float  # a - b
    low: float
    high: float
    confidence: float
    p_value: float
    significant: bool  # the interval excludes 0

    def to_json(self) -> dict[str, float | bool]:
        return asdict(self)

    def verdict(self, a: str = "A", b: str = "B") -> str:
        if not self.significant:
            return (
                f"no significant difference between {a} and {b} "
                f"({self.difference:+.3f}, {self.confidence:.0%} CI "
                f"[{self.low:+.3f}, {self.high:+.3f}], p={self.p_value:.3f})"
            )
        better, worse = (a, b) if self.difference > 0 else (b, a)
        return (
            f"{better} is significantly better than {worse} ({self.difference:+.3f}, "
            f"{self.confidence:.0%} CI [{self.low:+.3f}, {self.high:+.3f}], p={self.p_value:.3f})"
        )


def _resamples(n: int, rounds: int, seed: int) -> np.ndarray:
    if n == 0:
        raise EvaluationError("a bootstrap needs at least one query")
    if rounds < 1:
        raise EvaluationError(f"a bootstrap needs at least one round, not {rounds}")
    return np.random.default_rng(seed).integers(0, n, size=(rounds, n))


def _bounds(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise EvaluationError(f"confidence must be between 0 and 1, not {confidence}")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def interval(
    per_query: np.ndarray,
    *,
    rounds: int = DEFAULT_ROUNDS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> Interval:
    """The mean of `per_query` (e.g. hits at k: Recall@k) with its bootstrap interval."""
    values = np.asarray(per_query, dtype=np.float64)
    means = values[_resamples(values.size, rounds, seed)].mean(axis=1)
    low, high = _bounds(means, confidence)
    return Interval(float(values.mean()), low, high, confidence)


def compare(
    a: np.ndarray,
    b: np.ndarray,
    *,
    rounds: int = DEFAULT_ROUNDS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    """Paired bootstrap of mean(a) - mean(b); `a[i]` and `b[i]` are the same query's values."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise EvaluationError(
            f"a paired comparison needs the same queries for both models ({a.shape} vs {b.shape})"
        )
    picks = _resamples(a.size, rounds, seed)
    differences = (a - b)[picks].mean(axis=1)
    low, high = _bounds(differences, confidence)
    at_zero = (differences == 0).mean() / 2  # resamples exactly at 0 count half to each side
    tail = min((differences < 0).mean(), (differences > 0).mean()) + at_zero
    p_value = float(min(1.0, 2 * tail))
    difference = float(a.mean() - b.mean())
    significant = bool(low > 0 or high < 0)
    return Comparison(
        float(a.mean()), float(b.mean()), difference, low, high, confidence, p_value, significant
    )
