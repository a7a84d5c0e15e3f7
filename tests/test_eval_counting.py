"""Identical captions are counted one way everywhere: `eval retrieval` (evaluation.retrieval)
and `train proof` / training runs (train.metrics) give the same Recall@k on the same split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidsearch.data import Dataset, Split
from vidsearch.data.records import CaptionRecord
from vidsearch.evaluation.loaders import Caption, RetrievalSet, load_dataset
from vidsearch.evaluation.retrieval import score
from vidsearch.train.captions import load_pairs
from vidsearch.train.config import CaptionChoice


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_caption_shared_by_two_images_is_one_query_and_either_image_is_a_hit() -> None:
    images = tuple(Path(f"{i}.jpg") for i in range(3))
    captions = (
        Caption("a red circle", 0, "en"),
        Caption("a red circle", 1, "en"),
        Caption("a dog", 2, "en"),
    )
    test = RetrievalSet("shared", images, ("0", "1", "2"), captions)
    assert test.queries == ("a red circle", "a dog")
    gallery = np.eye(3, dtype=np.float32)
    # "a red circle" points at image 1: the caption of image 0 found one of its images first.
    texts = _unit(np.array([[0.2, 1.0, 0.0], [0.0, 0.1, 1.0]], dtype=np.float32))
    result = score(test, gallery, texts, label="m", language="en", ks=(1,))
    assert result.text_ranks.tolist() == [1, 1]
    assert result.image_ranks.tolist() == [1, 1, 1]  # every image's caption is first for it


@pytest.mark.parametrize("choice", list(CaptionChoice))
def test_eval_retrieval_and_train_proof_count_alike(tmp_path: Path, choice: CaptionChoice) -> None:
    """Same split, same vectors: the evaluation's Recall@k is the training runs' (the rule
    `train proof` reports, on first captions), with captions that several images share."""
    texts = ["a red circle", "a blue square", "a red circle", "a green triangle", "a blue square"]
    texts += ["a white circle", "a red circle"]
    with Dataset.open(tmp_path / "ds", writable=True, create=True) as dataset:
        for i, text in enumerate(texts):
            image = Image.new("RGB", (8, 8), (i * 30, 0, 0))
            dataset.add_image(f"x-{i}", image, source="x", split=Split.TEST)
            dataset.upsert_caption(CaptionRecord(f"x-{i}", "en", "x", 0, text))
            if i % 2:  # a second caption on some images
                dataset.upsert_caption(CaptionRecord(f"x-{i}", "en", "x", 1, f"picture {i}"))
    rng = np.random.default_rng(3)
    test = load_dataset(tmp_path / "ds", Split.TEST, "en")
    if choice is CaptionChoice.FIRST:
        test = test.first_captions()
    image_vectors = dict(zip(test.image_ids, _unit(rng.normal(size=(7, 16))), strict=True))
    assert len(test.captions) == (7 if choice is CaptionChoice.FIRST else 10)
    text_vectors = dict(
        zip(test.queries, _unit(rng.normal(size=(len(test.queries), 16))), strict=True)
    )
    ks = (1, 2, 3)

    ours = score(
        test,
        np.stack([image_vectors[i] for i in test.image_ids]),
        np.stack([text_vectors[t] for t in test.queries]),
        label="m",
        language="en",
        ks=ks,
    )
    with Dataset.open(tmp_path / "ds") as dataset:
        pairs = load_pairs(dataset, split="test", language="en", captions=choice)
    retrieval = pairs.retrieval()
    theirs = retrieval.recall(
        np.stack([text_vectors[t] for t in retrieval.queries]),
        np.stack([image_vectors[i] for i in pairs.image_ids]),
        ks,
    )
    assert (
        len(retrieval.queries) == len(test.queries) == (4 if choice is CaptionChoice.FIRST else 7)
    )
    for k in ks:
        assert theirs[f"recall_at_{k}"] == float((ours.text_ranks <= k).mean())
