"""Reading videos: probing, decoding at reduced size, and shot-aware frame sampling."""

from vidsearch.media.decode import DecodedFrame, DecodeMode, decode_frames
from vidsearch.media.probe import probe_video
from vidsearch.media.sampler import FrameSampler, SamplerConfig

__all__ = [
    "DecodeMode",
    "DecodedFrame",
    "FrameSampler",
    "SamplerConfig",
    "decode_frames",
    "probe_video",
]
