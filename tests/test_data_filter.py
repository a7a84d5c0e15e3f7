"""The similarity filter: its rules on a fake encoder whose scores are known, then the real
sentence-transformers path on a tiny model, where garbage translations are filtered."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_support import BagOfConcepts
from vidsearch.data import CaptionRecord, Dataset, Rejection
from vidsearch.data.errors import DataError
from vidsearch.data.filtering import FilterRule, filter_translations, similarities
from vidsearch.data.translate import LocalModelTranslator, translate_dataset
from vidsearch.encoders.sentence_text import SentenceTextEncoder

CONCEPTS = {"red": "red", "قرمز": "red", "car": "car", "ماشین": "car", "dog": "dog", "سگ": "dog"}
PAIRS = [  # original, translation: how faithful it is
    ("red car", "ماشین قرمز"),  # 1.0
    ("red dog", "سگ قرمز"),  # 1.0
    ("red car", "ماشین سگ"),  # 0.5: a word wrong
    ("dog", "ماشین"),  # 0.0: wrong
    ("red dog", "red dog"),  # untranslated echo
    ("car", "car car"),  # not Persian
    ("dog", "   "),  # empty
]


def _dataset(root: Path, pairs=PAIRS) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
    with Dataset.open(root, create=True) as dataset:
        for number, (original, translation) in enumerate(pairs):
            image = f"img-{number}"
            dataset.add_image(image, buffer.getvalue(), source="test")
            dataset.upsert_caption(CaptionRecord(image, "en", "test", 0, original))
            dataset.upsert_caption(
                CaptionRecord(
                    image,
                    "fa",
                    "test+mt",
                    0,
                    translation,
                    translator="fake",
                    translated_from="en",
                    original=original,
                )
            )
    return root


def _kept(root: Path) -> list[str]:
    return [c.image_id for c in Dataset.open(root).captions(language="fa")]


def test_threshold_keeps_faithful_pairs_and_prechecks_reject_garbage(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    encoder = BagOfConcepts(CONCEPTS)
    with Dataset.open(root, writable=True) as dataset:
        report = filter_translations(dataset, encoder, FilterRule(threshold=0.6))
    assert _kept(root) == ["img-0", "img-1"]
    assert report["rejected"] == {"empty": 1, "script": 1, "similarity": 2, "untranslated": 1}
    assert report["kept"] == 2 and report["translations"] == 7 and report["cutoff"] == 0.6
    dataset = Dataset.open(root)
    scores = {
        c.image_id: c.similarity
        for c in dataset.captions(include_rejected=True)
        if c.is_translation
    }
    assert scores == {
        "img-0": 1.0,
        "img-1": 1.0,
        "img-2": 0.5,
        "img-3": 0.0,
        "img-4": None,
        "img-5": None,
        "img-6": None,
    }
    assert dataset.caption(("img-5", "fa", "test+mt", 0)).rejection is Rejection.SCRIPT
    assert len(list(dataset.captions(language="en"))) == 7  # originals untouched
    distribution = report["similarity"]
    assert distribution["count"] == 4 and distribution["quantiles"]["0.5"] == 0.75
    assert sum(distribution["histogram"]["counts"]) == 4
    assert json.loads((root / "reports" / "filter.json").read_text())["kept"] == 2


def test_top_fraction_and_rerunning_with_another_rule_needs_no_model(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    encoder = BagOfConcepts(CONCEPTS)
    with Dataset.open(root, writable=True) as dataset:
        filter_translations(dataset, encoder, FilterRule(top_fraction=0.75))
    assert _kept(root) == ["img-0", "img-1", "img-2"]  # 3 of the 4 scored pairs
    calls = encoder.calls
    with Dataset.open(root, writable=True) as dataset:
        report = filter_translations(dataset, encoder, FilterRule(threshold=0.9))
    assert encoder.calls == calls and report["scored_now"] == 0
    assert _kept(root) == ["img-0", "img-1"]
    with Dataset.open(root, writable=True) as dataset:  # looser again: img-2 comes back
        filter_translations(dataset, encoder, FilterRule(threshold=0.4))
    assert _kept(root) == ["img-0", "img-1", "img-2"]


def test_rules_are_checked() -> None:
    with pytest.raises(DataError, match="either a similarity threshold or a top fraction"):
        FilterRule(threshold=0.5, top_fraction=0.5)
    with pytest.raises(DataError, match="either"):
        FilterRule()
    with pytest.raises(DataError, match=r"top fraction must be in \(0, 1\]"):
        FilterRule(top_fraction=0)
    with pytest.raises(DataError, match=r"cosine similarity in \[-1, 1\]"):
        FilterRule(threshold=2)


def test_tiny_sentence_model_scores_identical_text_highest(tiny_sentence_model: Path) -> None:
    encoder = SentenceTextEncoder(str(tiny_sentence_model))
    texts = ["a man running on the beach at sunset", "یک ماشین قرمز در خیابان پارک شده است"]
    scores = similarities(encoder, texts, [texts[0], texts[0]])
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores[1] < 0.999
    assert np.all(np.abs(scores) <= 1.0 + 1e-6)


def test_random_translations_through_the_real_encoder(
    tiny_translator: Path, tiny_sentence_model: Path, tmp_path: Path
) -> None:
    """End to end on real models: a random MarianMT model translates (garbage), two reference
    translations come from elsewhere, the sentence-transformers path scores what passes the
    prechecks, and the top half of the scored pairs is kept. (The tiny encoder's vectors are
    random, so which pair wins means nothing here: the fake encoder above tests that.)"""
    originals = ["a man running on the beach at sunset", "a red car parked in the street"]
    references = ["مردی که هنگام غروب در ساحل می‌دود", "یک ماشین قرمز در خیابان پارک شده است"]
    root = _dataset(tmp_path / "ds", list(zip(originals, references, strict=True)))
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
    with Dataset.open(root, writable=True) as dataset:
        for number, original in enumerate(originals, len(originals)):
            dataset.add_image(f"img-{number}", buffer.getvalue(), source="random")
            dataset.upsert_caption(CaptionRecord(f"img-{number}", "en", "random", 0, original))
        translate_dataset(dataset, LocalModelTranslator(str(tiny_translator), max_new_tokens=8))
    encoder = SentenceTextEncoder(str(tiny_sentence_model))
    with Dataset.open(root, writable=True) as dataset:
        report = filter_translations(dataset, encoder, FilterRule(top_fraction=0.5))
    translations = [
        c for c in Dataset.open(root).captions(include_rejected=True) if c.is_translation
    ]
    assert len(translations) == report["translations"] == 4
    assert report["kept"] + sum(report["rejected"].values()) == 4
    scored = [c for c in translations if c.similarity is not None]
    assert {"img-0", "img-1"} <= {c.image_id for c in scored}  # the references pass prechecks
    for caption in scored:
        direct = similarities(encoder, [caption.original], [caption.caption])[0]
        assert caption.similarity == pytest.approx(float(direct), abs=1e-5)
    assert report["kept"] == -(-len(scored) // 2) == sum(c.keep for c in translations)
    for caption in translations:
        assert caption.keep == (caption.rejection is None)
        if caption.similarity is None:  # garbage rejected before any model ran
            assert caption.rejection in {Rejection.SCRIPT, Rejection.UNTRANSLATED}
    assert report["encoder"] == str(tiny_sentence_model)
    assert report["similarity"]["count"] == len(scored)
