"""Encoders turn images and texts into L2-normalised float32 vectors in one shared space."""

from vidsearch.encoders.base import Encoder
from vidsearch.encoders.clip_hf import ClipEncoder

__all__ = ["ClipEncoder", "Encoder"]
