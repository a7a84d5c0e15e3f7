"""Retrieval metrics and the bootstrap against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from vidsearch.evaluation import metrics
from vidsearch.evaluation.bootstrap import compare, interval
from vidsearch.evaluation.errors import EvaluationError
from vidsearch.evaluation.metrics import TiePolicy


def test_ranks_count_only_irrelevant_items_above_the_best_ground_truth() -> None:
    scores = np.array(
        [
            [0.9, 0.8, 0.7, 0.1],  # truth at 0: rank 1
            [0.9, 0.8, 0.7, 0.1],  # truth at 2: two above -> rank 3
            [0.9, 0.8, 0.7, 0.1],  # truths at 1 and 3: best is 1, one above -> rank 2
        ]
    )
    relevant = np.zeros_like(scores, dtype=bool)
    relevant[0, 0] = relevant[1, 2] = relevant[2, 1] = relevant[2, 3] = True
    assert metrics.ranks(scores, relevant).tolist() == [1, 3, 2]


def test_other_ground_truths_do_not_push_a_query_down() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.6]])
    relevant = np.array([[True, True, True, False]])
    assert metrics.ranks(scores, relevant).tolist() == [1]
    relevant = np.array([[False, True, True, True]])  # best truth second, behind one
    assert metrics.ranks(scores, relevant).tolist() == [2]


def test_ties_pessimistic_by_default_optimistic_on_request() -> None:
    scores = np.array([[0.5, 0.5, 0.5, 0.2]])
    relevant = np.array([[False, True, False, False]])
    assert metrics.ranks(scores, relevant).tolist() == [3]  # both tied items go above
    assert metrics.ranks(scores, relevant, TiePolicy.OPTIMISTIC).tolist() == [1]
    constant = np.zeros((3, 3))
    assert metrics.ranks(constant, np.eye(3, dtype=bool)).tolist() == [3, 3, 3]


def test_recall_at_k_and_k_beyond_the_gallery() -> None:
    ranks = np.array([1, 2, 3, 7])
    assert metrics.recall_at_k(ranks, (1, 2, 5, 10, 1000)) == {
        1: 0.25,
        2: 0.5,
        5: 0.75,
        10: 1.0,
        1000: 1.0,
    }
    assert metrics.rank_summary(ranks) == {"mean_rank": 3.25, "median_rank": 2.5}


def test_both_directions_with_five_captions_per_image() -> None:
    # 2 images, 3 captions: captions 0, 1 describe image 0; caption 2 image 1
    similarity = np.array([[0.9, 0.1], [0.2, 0.3], [0.4, 0.8]])
    owner = np.array([0, 0, 1])
    assert metrics.text_to_image_ranks(similarity, owner).tolist() == [1, 2, 1]
    # image 0: its captions score 0.9 and 0.2, caption 2 scores 0.4 -> best (0.9) is first
    # image 1: its caption scores 0.8, the others 0.1 and 0.3 -> first
    assert metrics.image_to_text_ranks(similarity, owner).tolist() == [1, 1]
    similarity[0, 0] = 0.1  # now image 0's best caption (0.2) has caption 2 (0.4) above
    assert metrics.image_to_text_ranks(similarity, owner).tolist() == [2, 1]


def test_accuracy_at_k_averages_both_directions() -> None:
    pairs = np.array([[0.9, 0.1, 0.0], [0.8, 0.7, 0.0], [0.0, 0.0, 0.5]])
    # rows: ranks 1, 2, 1; columns: col0 (0.9 top) 1, col1 (0.7 top) 1, col2 (0.5) 1
    assert metrics.accuracy_at_k(pairs, (1, 2)) == {1: pytest.approx(5 / 6), 2: 1.0}


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(EvaluationError, match="without ground truth"):
        metrics.ranks(np.zeros((2, 2)), np.array([[True, False], [False, False]]))
    with pytest.raises(EvaluationError):
        metrics.ranks(np.zeros((2, 2)), np.zeros((2, 3), bool))
    with pytest.raises(EvaluationError):
        metrics.hits_at_k(np.array([1]), 0)


def test_bootstrap_interval_and_paired_comparison() -> None:
    hits = np.array([1.0] * 30 + [0.0] * 70)
    ci = interval(hits, rounds=1000)
    assert ci.value == 0.3 and ci.low < 0.3 < ci.high and ci.high - ci.low < 0.25
    better = np.array([1.0] * 60 + [0.0] * 40)
    result = compare(better, hits, rounds=1000)
    assert result.significant and result.difference == pytest.approx(0.3)
    assert result.low > 0 and result.p_value < 0.01
    assert "A is significantly better than B" in result.verdict()
    same = compare(hits, np.roll(hits, 1), rounds=1000)
    assert not same.significant and same.p_value > 0.05
    with pytest.raises(EvaluationError):
        compare(hits, hits[:10])
