"""The ONNX encoder: exported once from PyTorch, verified, and chosen by default."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.encoders import ClipEncoder, OnnxClipEncoder, open_encoder
from vidsearch.encoders.clip_common import ClipFiles
from vidsearch.encoders.factory import onnx_folder
from vidsearch.encoders.onnx_export import IMAGE_INT8_ONNX, MANIFEST, ExportManifest
from vidsearch.types import EncoderBackend

TEXTS = ["a man running on the beach at sunset", "مردی که هنگام غروب در ساحل می‌دود", "x " * 200]


def images(n: int) -> list[np.ndarray]:
    return [np.random.default_rng(i).integers(0, 256, (180, 320, 3), np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


def test_auto_backend_exports_once_and_matches_pytorch(tiny_model: Path, cache: Path) -> None:
    messages: list[str] = []
    encoder = open_encoder(str(tiny_model), cache_dir=cache, notify=messages.append)
    assert isinstance(encoder, OnnxClipEncoder)
    assert any("exporting" in m for m in messages)
    reference = ClipEncoder(str(tiny_model))
    assert encoder.identity == reference.identity  # same weights, same image space
    frames = images(5)
    image_cos = (encoder.encode_images(frames) * reference.encode_images(frames)).sum(axis=1)
    text_cos = (encoder.encode_texts(TEXTS) * reference.encode_texts(TEXTS)).sum(axis=1)
    assert image_cos.min() >= 1 - 1e-3 and text_cos.min() >= 1 - 1e-3

    again: list[str] = []
    second = open_encoder(str(tiny_model), cache_dir=cache, notify=again.append)
    assert isinstance(second, OnnxClipEncoder) and again == []  # reused, not re-exported
    np.testing.assert_allclose(second.encode_images(frames[:1]), encoder.encode_images(frames[:1]))


def test_int8_image_tower_is_close_to_fp32(tiny_model: Path, cache: Path) -> None:
    encoder = open_encoder(str(tiny_model), cache_dir=cache, int8=True)
    assert isinstance(encoder, OnnxClipEncoder) and encoder.backend == "onnx-int8"
    folder = onnx_folder(cache, ClipFiles(str(tiny_model)))
    assert (folder / IMAGE_INT8_ONNX).is_file()
    manifest = ExportManifest.read(folder)
    assert manifest is not None and manifest.int8_cosine_min is not None
    assert manifest.int8_cosine_min > 0.99
    assert_signed_per_channel(folder / IMAGE_INT8_ONNX)
    fp32 = open_encoder(str(tiny_model), cache_dir=cache)
    frames = images(4)
    cos = (encoder.encode_images(frames) * fp32.encode_images(frames)).sum(axis=1)
    assert cos.min() > 0.99


def assert_signed_per_channel(path: Path) -> None:
    """Quantised weights are int8 (not uint8), with one scale per output channel."""
    import onnx
    from onnx.numpy_helper import to_array

    weights = {i.name: to_array(i) for i in onnx.load(path).graph.initializer}
    quantized = [name for name, w in weights.items() if name.endswith("_quantized")]
    assert quantized and all(weights[name].dtype == np.int8 for name in quantized)
    scales = [weights[name.removesuffix("_quantized") + "_scale"] for name in quantized]
    assert all(scale.size > 1 for scale in scales)  # not one scale for the whole tensor


def test_torch_backend_on_request(tiny_model: Path, cache: Path) -> None:
    encoder = open_encoder(str(tiny_model), cache_dir=cache, backend=EncoderBackend.TORCH)
    assert isinstance(encoder, ClipEncoder)


def test_an_interrupted_export_is_redone(tiny_model: Path, tmp_path: Path) -> None:
    folder = onnx_folder(tmp_path, ClipFiles(str(tiny_model)))
    folder.mkdir(parents=True)
    (folder / "image.onnx").write_bytes(b"half written")  # no manifest: not trusted
    encoder = open_encoder(str(tiny_model), cache_dir=tmp_path)
    assert (folder / MANIFEST).is_file()
    assert encoder.encode_images(images(1)).shape == (1, encoder.dim)


def test_export_command_reports_the_check(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDSEARCH_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["export-onnx", "--model", str(tiny_model), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["image_cosine_min"] >= 1 - 1e-3 and report["text_cosine_min"] >= 1 - 1e-3
    assert Path(report["folder"], "image.onnx").is_file()
