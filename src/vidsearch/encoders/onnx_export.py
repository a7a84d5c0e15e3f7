"""Export a CLIP checkpoint's image and text towers to ONNX, once, and check them.

The export runs PyTorch (and needs the `onnx` and `onnxscript` packages); afterwards the
encoder needs only ONNX Runtime, which embeds ~2x faster on CPU and starts in a fraction
of the time. Every export is verified against PyTorch (cosine >= 1 - 1e-3 per vector), and
an optional int8 dynamic quantisation of the image tower records its own cosine to fp32.
The folder carries a manifest; a folder without one (an interrupted export) is redone.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vidsearch.encoders.clip_common import ClipFiles
from vidsearch.encoders.torch_extra import require_torch
from vidsearch.errors import ModelError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
IMAGE_ONNX = "image.onnx"
IMAGE_INT8_ONNX = "image.int8.onnx"
TEXT_ONNX = "text.onnx"
OUTPUT = "embeddings"  # the projected vector, the one output of each tower
OPSET = 17
MIN_COSINE = 1 - 1e-3


@dataclass(frozen=True, slots=True)
class ExportManifest:
    version: int
    identity: str
    opset: int
    torch: str
    image_cosine_min: float  # ONNX fp32 vs PyTorch
    text_cosine_min: float
    int8_cosine_min: float | None  # int8 image tower vs fp32 (None: not quantised)

    @classmethod
    def read(cls, folder: Path) -> ExportManifest | None:
        try:
            data = json.loads((folder / MANIFEST).read_text())
            return cls(**data) if data.get("version") == MANIFEST_VERSION else None
        except (OSError, ValueError, TypeError):
            return None


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def _sample_images(n: int, size: int) -> np.ndarray:
    """Smooth random textures (closer to video frames than white noise), preprocessed."""
    from vidsearch.encoders.preprocess import CLIP_MEAN, CLIP_STD

    rng = np.random.default_rng(0)
    coarse = rng.uniform(0, 1, size=(n, 3, 8, 8)).astype(np.float32)
    images = coarse.repeat(size // 8, axis=2).repeat(size // 8, axis=3)
    images += rng.normal(0, 0.05, size=images.shape).astype(np.float32)
    mean = np.asarray(CLIP_MEAN, np.float32)[None, :, None, None]
    std = np.asarray(CLIP_STD, np.float32)[None, :, None, None]
    return ((np.clip(images, 0, 1) - mean) / std).astype(np.float32)


def export_onnx(model: ClipFiles, folder: Path, *, quantize: bool = False) -> ExportManifest:
    """Write `image.onnx`, `text.onnx` (and `image.int8.onnx`) plus a manifest into `folder`."""
    torch = require_torch(
        f"exporting '{model.model_ref}' to ONNX", "transformers", "onnx", "onnxscript"
    )
    from vidsearch.encoders.clip_hf import ClipEncoder
    from vidsearch.encoders.sessions import open_session

    clip = ClipEncoder(model.model_ref).load().model.cpu()
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    clip.requires_grad_(False)

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vision, self.projection = clip.vision_model, clip.visual_projection

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return self.projection(self.vision(pixel_values=pixel_values).pooler_output)

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.text, self.projection = clip.text_model, clip.text_projection

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.text(input_ids=input_ids, attention_mask=attention_mask)
            return self.projection(out.pooler_output)

    size = model.preprocess_config().size
    pixels = _sample_images(4, size)
    length = model.text_length
    vocab = int(model.config().get("text_config", {}).get("vocab_size", 49408))
    ids = np.random.default_rng(1).integers(0, vocab, size=(3, length)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[1, length // 2 :] = 0
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about Python control flow
            torch.onnx.export(
                ImageTower().eval(),
                (torch.from_numpy(pixels),),
                tmp / IMAGE_ONNX,
                input_names=["pixel_values"],
                output_names=[OUTPUT],
                dynamic_axes={"pixel_values": {0: "batch"}, OUTPUT: {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
            torch.onnx.export(
                TextTower().eval(),
                (torch.from_numpy(ids), torch.from_numpy(mask)),
                tmp / TEXT_ONNX,
                input_names=["input_ids", "attention_mask"],
                output_names=[OUTPUT],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    OUTPUT: {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
            torch_image = ImageTower()(torch.from_numpy(pixels)).numpy()
            torch_text = TextTower()(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    except Exception as exc:  # the exporter raises many types
        shutil.rmtree(tmp, ignore_errors=True)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelError(f"ONNX export of '{model.model_ref}' failed: {reason}") from None

    image_onnx = open_session(tmp / IMAGE_ONNX).run(None, {"pixel_values": pixels})[0]
    text_onnx = open_session(tmp / TEXT_ONNX).run(None, {"input_ids": ids, "attention_mask": mask})[
        0
    ]
    image_cos = float(_cosines(image_onnx, torch_image).min())
    text_cos = float(_cosines(text_onnx, torch_text).min())
    if min(image_cos, text_cos) < MIN_COSINE:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(
            f"ONNX export of '{model.model_ref}' does not match PyTorch "
            f"(cosine image {image_cos:.5f}, text {text_cos:.5f}; need >= {MIN_COSINE})"
        )
    int8_cos = None
    if quantize:
        int8_cos = quantize_image_tower(tmp, pixels, image_onnx)
    manifest = ExportManifest(
        MANIFEST_VERSION, model.identity, OPSET, torch.__version__, image_cos, text_cos, int8_cos
    )
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return manifest


def quantize_image_tower(folder: Path, pixels: np.ndarray, reference: np.ndarray) -> float:
    """int8 dynamic quantisation of the image tower (signed weights, one scale per output
    channel; activations quantised at run time); returns its min cosine to fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from vidsearch.encoders.sessions import open_session

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice through the root logger
    try:
        quantize_dynamic(
            folder / IMAGE_ONNX,
            folder / IMAGE_INT8_ONNX,
            weight_type=QuantType.QInt8,  # signed: unsigned weights are reported to hurt CLIP
            per_channel=True,  # closer to fp32 than one scale per tensor, at the same speed
            # MatMul only (~97% of the work): the quantiser gives the patch embedding (Conv)
            # one scale for the whole tensor and stores the position table (Gather) unsigned
            op_types_to_quantize=["MatMul"],
        )
    finally:
        root.setLevel(level)
    quantized = open_session(folder / IMAGE_INT8_ONNX).run(None, {"pixel_values": pixels})[0]
    return float(_cosines(quantized, reference).min())
