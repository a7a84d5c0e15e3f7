"""compare_models on the small shapes world: a Persian text encoder trained into the tiny CLIP's
image space against an untrained one (the tiny multilingual bundle: a random text model into
the same images), a model against itself, and a first model with no incumbent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from train_support import options, text_config, write_small_world
from vidsearch.data import Split
from vidsearch.evaluation.comparison import ModelComparison, compare_models
from vidsearch.evaluation.errors import EvaluationError

pytest.importorskip("sentence_transformers")

ROUNDS = 500


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 images, so the test split (40) puts chance at R@5 = 0.125: with the 12 test images
    of a 60-image world an untrained model scored anywhere from 0.33 to 0.57 (chance 0.42;
    its random tokenizer differs run to run), too close to call with 30 captions."""
    return write_small_world(tmp_path_factory.mktemp("comparison") / "world", images=200)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("comparison-cache")


@pytest.fixture(scope="module")
def trained(
    world: Path, tiny_model: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A Persian text encoder trained into the tiny CLIP's image space (a few seconds)."""
    from vidsearch.train.runner import train

    output = tmp_path_factory.mktemp("runs") / "fa"
    optim = {"epochs": 30, "lr": 5e-3, "head_lr": 5e-3}
    config = text_config(output, world, tiny_model, optim=optim)
    return str(train(config, encoder_options=options(cache)).bundle)


def _compare(world: Path, cache: Path, candidate: str, incumbent: str | None) -> ModelComparison:
    return compare_models(world, candidate, incumbent, rounds=ROUNDS, options=options(cache))


def test_a_trained_encoder_beats_an_untrained_one_and_not_the_other_way(
    world: Path, cache: Path, trained: str, tiny_multilingual: Path
) -> None:
    result = _compare(world, cache, trained, str(tiny_multilingual))
    print(f"R@5 trained {result.candidate_value:.3f} vs untrained {result.incumbent_value:.3f}")
    assert result.metric == "text_to_image R@5"
    assert result.comparison is not None and result.comparison.significant
    assert result.candidate_value > (result.incumbent_value or 1.0)
    assert result.better
    report = result.report
    assert [r["label"] for r in report["results"]] == [trained, str(tiny_multilingual)]
    assert report["setup"]["language"] == "fa" and report["setup"]["bootstrap rounds"] == ROUNDS
    assert report["setup"]["test set"].endswith(":test")
    assert report["comparison"]["summary"].startswith("text_to_image R@5: ")
    assert report["metrics"][trained]["t2i R@5"] == result.candidate_value
    assert set(report["results"][0]["text_to_image"]["recall"]) == {"R@1", "R@5", "R@10"}
    written = json.loads(json.dumps(result.to_json(), ensure_ascii=False))
    assert written["better"] is True and written["comparison"]["difference"] > 0

    reverse = _compare(world, cache, str(tiny_multilingual), trained)
    assert reverse.comparison is not None and reverse.comparison.significant
    assert not reverse.better  # significantly different, in the incumbent's favour


def test_a_model_is_not_better_than_itself(world: Path, cache: Path, trained: str) -> None:
    result = _compare(world, cache, trained, trained)
    assert result.comparison is not None and result.comparison.difference == 0
    assert not result.comparison.significant and not result.better
    assert result.candidate_value == result.incumbent_value
    labels = [r["label"] for r in result.report["results"]]
    assert labels == [trained, f"{trained} (incumbent)"]  # two rows, not one overwritten


def test_without_an_incumbent_the_candidate_is_better(
    world: Path, cache: Path, trained: str
) -> None:
    result = compare_models(
        world,
        trained,
        None,
        split=Split.VALIDATION,
        ks=(1, 10),
        deciding_k=3,
        options=options(cache),
    )
    assert result.better and result.comparison is None and result.incumbent_value is None
    assert result.metric == "text_to_image R@3"
    assert set(result.report["results"][0]["text_to_image"]["recall"]) == {"R@1", "R@3", "R@10"}
    assert "comparison" not in result.report and len(result.report["results"]) == 1
    assert result.to_json()["comparison"] is None


def test_bad_inputs_are_evaluation_errors(world: Path, cache: Path, trained: str) -> None:
    with pytest.raises(EvaluationError, match="has no captions in 'xx'"):
        compare_models(world, trained, None, language="xx", options=options(cache))
    with pytest.raises(EvaluationError, match="k must be positive"):
        compare_models(world, trained, None, deciding_k=0, options=options(cache))
