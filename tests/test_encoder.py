"""The CLIP encoder on a tiny random model built offline, and its loading errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from vidsearch.encoders import ClipEncoder, Encoder
from vidsearch.encoders.preprocess import PreprocessConfig, resize_and_crop, to_pixel_values
from vidsearch.errors import ModelError, QueryError
from vidsearch.testing.tiny_model import TINY_DIM, write_tiny_model


def test_vectors_are_unit_float32_of_the_model_dimension(encoder: ClipEncoder) -> None:
    assert isinstance(encoder, Encoder)
    images = [np.random.default_rng(i).integers(0, 256, (180, 320, 3), np.uint8) for i in range(3)]
    vectors = encoder.encode_images(images)
    texts = encoder.encode_texts(["a man running on the beach", "مردی که در ساحل می‌دود"])
    for v in (vectors, texts):
        assert v.dtype == np.float32
        assert v.shape[1] == encoder.dim == TINY_DIM
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert vectors.shape[0] == 3 and texts.shape[0] == 2
    assert not np.allclose(vectors[0], vectors[1])


def test_batching_does_not_change_vectors(encoder: ClipEncoder) -> None:
    images = [np.random.default_rng(i).integers(0, 256, (64, 96, 3), np.uint8) for i in range(5)]
    together = encoder.encode_images(images)
    one_by_one = np.concatenate([encoder.encode_images([img]) for img in images])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_identity_follows_the_weights_not_the_directory(tiny_model: Path, tmp_path: Path) -> None:
    same = write_tiny_model(tmp_path / "copy", seed=0)
    other = write_tiny_model(tmp_path / "other", seed=1)
    assert ClipEncoder(str(same)).identity == ClipEncoder(str(tiny_model)).identity
    assert ClipEncoder(str(other)).identity != ClipEncoder(str(tiny_model)).identity


def test_empty_text_query_is_refused(encoder: ClipEncoder) -> None:
    with pytest.raises(QueryError, match="empty query"):
        encoder.encode_texts(["   "])


def test_missing_model_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model directory '.*/absent' does not exist"):
        _ = ClipEncoder(str(tmp_path / "absent")).identity


def test_directory_without_config_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="has no config.json: not a model directory"):
        _ = ClipEncoder(str(tmp_path)).identity


def test_broken_weights_name_the_model(tiny_model: Path, tmp_path: Path) -> None:
    broken = write_tiny_model(tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(ModelError, match="cannot load CLIP model '.*broken'"):
        ClipEncoder(str(broken)).load()


def test_unreachable_hub_fails_fast_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # empty cache
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on port 9
    started = time.perf_counter()
    with pytest.raises(ModelError) as info:
        _ = ClipEncoder("openai/clip-vit-base-patch32").identity
    assert time.perf_counter() - started < 10
    message = str(info.value)
    assert "cannot download model 'openai/clip-vit-base-patch32'" in message
    assert "127.0.0.1 is unreachable" in message
    assert "vidsearch.testing.tiny_model" in message


def test_offline_flag_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE is set"):
        _ = ClipEncoder("openai/clip-vit-base-patch32").identity


def test_preprocessing_crops_the_centre_square() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 100:200] = 255  # white centre third
    crop = resize_and_crop(image, 50)
    assert crop.shape == (50, 50, 3)
    assert crop.mean() > 250  # only the white centre survives
    batch = to_pixel_values([image, image], PreprocessConfig(size=50))
    assert batch.shape == (2, 3, 50, 50) and batch.dtype == np.float32
