"""Encoders turn images and texts into L2-normalised float32 vectors in one shared space."""

from vidsearch.encoders.base import Encoder
from vidsearch.encoders.clip_hf import ClipEncoder
from vidsearch.encoders.factory import open_encoder
from vidsearch.encoders.model_bundle import ModelBundle, open_bundle
from vidsearch.encoders.onnx_clip import OnnxClipEncoder

__all__ = [
    "ClipEncoder",
    "Encoder",
    "ModelBundle",
    "OnnxClipEncoder",
    "open_bundle",
    "open_encoder",
]
