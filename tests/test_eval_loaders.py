"""Test-set loaders on small files in the published formats and vidsearch's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from vidsearch.data import Dataset, Split
from vidsearch.data.records import CaptionRecord
from vidsearch.evaluation.errors import EvaluationError
from vidsearch.evaluation.loaders import load


def _images(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(folder / name)
    return folder


def test_karpathy_split_file_test_split(tmp_path: Path) -> None:
    images = _images(tmp_path / "flickr30k-images", ["1.jpg", "2.jpg", "3.jpg"])
    entries = [
        {"filename": "1.jpg", "imgid": 0, "split": "train", "sentences": [{"raw": "a dog"}]},
        {
            "filename": "2.jpg",
            "imgid": 1,
            "split": "test",
            "sentences": [{"raw": f"a cat {n}"} for n in range(5)],
        },
        {"filename": "3.jpg", "imgid": 2, "split": "test", "sentences": [{"raw": "a bird"}]},
    ]
    path = tmp_path / "dataset_flickr30k.json"
    path.write_text(json.dumps({"images": entries, "dataset": "flickr30k"}))
    test = load(path, images=images)
    assert test.image_ids == ("2", "3")
    assert [c.text for c in test.captions][:2] == ["a cat 0", "a cat 1"]
    assert [c.image for c in test.captions] == [0, 0, 0, 0, 0, 1]
    assert test.languages == ("en",)
    assert load(path, images=images, split=Split.TRAIN).image_ids == ("1",)


def test_nocaps_annotations(tmp_path: Path) -> None:
    images = _images(tmp_path / "val", ["0013ea2087020901.jpg", "0a1b.jpg"])
    data = {
        "images": [
            {"id": 0, "file_name": "0013ea2087020901.jpg"},
            {"id": 1, "file_name": "0a1b.jpg"},
        ],
        "annotations": [
            {"image_id": 1, "id": 7, "caption": "two birds"},
            {"image_id": 0, "id": 3, "caption": "a red car"},
            {"image_id": 0, "id": 4, "caption": "a car in the street"},
        ],
    }
    path = tmp_path / "nocaps_val_4500_captions.json"
    path.write_text(json.dumps(data))
    test = load(path, images=images)
    assert test.image_ids == ("0013ea2087020901", "0a1b")
    assert [(c.text, c.image) for c in test.captions] == [
        ("a red car", 0),
        ("a car in the street", 0),
        ("two birds", 1),
    ]


def test_vidsearch_dataset_with_persian_captions(tmp_path: Path) -> None:
    with Dataset.open(tmp_path / "ds", writable=True, create=True) as dataset:
        for i, split in enumerate([Split.TEST, Split.TEST, Split.TRAIN]):
            dataset.add_image(
                f"x-{i}", Image.new("RGB", (8, 8), (0, i * 60, 0)), source="x", split=split
            )
            dataset.upsert_caption(CaptionRecord(f"x-{i}", "en", "x", 0, f"image {i}"))
        dataset.upsert_caption(CaptionRecord("x-1", "fa", "x+mt", 0, "تصویر یک"))
    everything = load(tmp_path / "ds")
    assert everything.image_ids == ("x-0", "x-1") and set(everything.languages) == {"en", "fa"}
    persian = load(tmp_path / "ds", language="fa")
    assert persian.image_ids == ("x-1",)
    assert [(c.text, c.image, c.language) for c in persian.captions] == [("تصویر یک", 0, "fa")]
    assert persian.images[0].is_file()
    with pytest.raises(EvaluationError, match="no captions in 'de'"):
        everything.in_language("de")


def test_unusable_inputs_fail_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"something": 1}))
    with pytest.raises(EvaluationError, match="neither"):
        load(path, images=tmp_path)
    with pytest.raises(EvaluationError, match="--images"):
        load(path)
    karpathy = tmp_path / "k.json"
    entry = {"filename": "gone.jpg", "split": "test", "sentences": [{"raw": "x"}]}
    karpathy.write_text(json.dumps({"images": [entry]}))
    with pytest.raises(EvaluationError, match="missing"):
        load(karpathy, images=tmp_path)


def _karpathy(path: Path, captions: list[list[str]]) -> Path:
    entries = [
        {"filename": f"{i}.jpg", "split": "test", "sentences": [{"raw": t} for t in texts]}
        for i, texts in enumerate(captions)
    ]
    path.write_text(json.dumps({"images": entries}, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_persian_karpathy_file_is_persian_by_its_script(tmp_path: Path) -> None:
    """Flickr30k-fa style: Karpathy's layout, Persian sentences (one English word mixed in,
    and one caption in English: the majority decides)."""
    images = _images(tmp_path / "images", ["0.jpg", "1.jpg"])
    path = _karpathy(
        tmp_path / "flickr30k_fa.json",
        [["مردی در ساحل می‌دود", "a man running"], ["دو سگ در برف", "یک ماشین BMW قرمز"]],
    )
    test = load(path, images=images)
    assert test.languages == ("fa",)
    assert test.in_language("fa").captions == test.captions
    forced = load(path, images=images, language="en")  # the flag wins over the script
    assert forced.languages == ("en",) and len(forced.captions) == 4


def test_coco_captions_take_the_flag_or_their_script(tmp_path: Path) -> None:
    images = _images(tmp_path / "val", ["a.jpg"])
    data = {
        "images": [{"id": 0, "file_name": "a.jpg"}],
        "annotations": [{"image_id": 0, "caption": "دو سگ در برف بازی می‌کنند"}],
    }
    path = tmp_path / "captions_val2017.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert load(path, images=images).languages == ("fa",)
    assert load(path, images=images, language="ur").languages == ("ur",)


def test_captions_without_letters_need_the_language(tmp_path: Path) -> None:
    images = _images(tmp_path / "images", ["0.jpg"])
    path = _karpathy(tmp_path / "digits.json", [["123", "۴۵۶"]])
    with pytest.raises(EvaluationError, match="cannot tell the captions' language"):
        load(path, images=images)
    assert load(path, images=images, language="fa").languages == ("fa",)
