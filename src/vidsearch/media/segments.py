"""Split a video at clean keyframes into spans that decode independently, on separate cores.

Inside a group of pictures (GOP) decoding is a serial chain, but most encoders start each GOP
with an IDR frame, after which no frame refers to anything earlier: the GOPs decode on their
own. A boundary is *clean* when

- its packet is a keyframe, and for H.264/HEVC an IDR picture (not a recovery point or an
  open-GOP CRA frame, after which frames may still look back);
- every packet before it in decode order is shown before it, and every packet from it on is
  shown at or after it (an open GOP's leading B-frames are shown before the keyframe they
  follow: such a keyframe is not a boundary);
- every packet has a time stamp.

Only the packets are read (no decoding: ~100x faster than decoding them). Where a video has
no clean boundary (open GOPs, no time stamps, an unreadable index) it stays one span, and is
decoded as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vidsearch.errors import MediaError
from vidsearch.media.decode import WHOLE_FILE, Span
from vidsearch.media.probe import open_video

# Spans are at least this long (opening the file and the decoder costs ~10-30 ms)...
MIN_SPAN_S = 8.0
# ... and at most this long, so that a few spans fill the pool and memory stays small.
MAX_SPAN_S = 30.0
# Spans per worker that a video is cut into when it is short enough.
SPANS_PER_WORKER = 2

# NAL unit types of pictures after which nothing refers back: H.264 IDR; HEVC IDR_W_RADL,
# IDR_N_LP (a CRA or BLA picture may be followed by frames that reference the previous GOP).
_H264_IDR = {5}
_HEVC_IDR = {19, 20}


@dataclass(frozen=True, slots=True)
class Keyframe:
    pts: int
    time: float


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    """Where a video may be cut, and into which spans for a given pool."""

    boundaries: tuple[Keyframe, ...]  # clean keyframes, the first packet excluded
    duration: float
    reason: str = ""  # why there is no boundary, for logs and tests
    start: float = 0.0  # the first frame's time

    def spans(self, workers: int) -> list[Span]:
        """Spans of MIN_SPAN_S..MAX_SPAN_S seconds, about SPANS_PER_WORKER per worker."""
        if workers <= 1 or not self.boundaries:
            return [WHOLE_FILE]
        target = min(MAX_SPAN_S, max(MIN_SPAN_S, self.duration / (workers * SPANS_PER_WORKER)))
        cuts: list[Keyframe] = []
        last_cut, end = self.start, self.start + self.duration
        for keyframe in self.boundaries:
            # at least `target` after the previous cut, and no tiny span at the end
            if keyframe.time - last_cut >= target and end - keyframe.time >= MIN_SPAN_S / 2:
                cuts.append(keyframe)
                last_cut = keyframe.time
        if not cuts:
            return [WHOLE_FILE]
        spans = [Span(None, cuts[0].pts, self.start)]
        for here, after in zip(cuts, [*cuts[1:], None], strict=True):
            spans.append(Span(here.pts, after.pts if after else None, here.time))
        return spans


def plan_segments(path: Path) -> SegmentPlan:
    """Read the packets of `path`'s video stream and find its clean boundaries.

    Never raises for a damaged file: a file whose packets cannot all be read is one span,
    and decoding it reports the damage as it always has.
    """
    try:
        with open_video(path) as (container, stream):
            return _scan(container, stream)
    except (MediaError, av.FFmpegError) as exc:
        return SegmentPlan((), 0.0, reason=f"unreadable packets: {exc}")


def _scan(container: av.container.InputContainer, stream: av.VideoStream) -> SegmentPlan:
    tb = stream.time_base
    codec = stream.codec_context.name
    if tb is None:
        return SegmentPlan((), 0.0, reason="no time base")
    pts: list[int] = []  # in decode order (the order packets are stored)
    candidates: list[int] = []  # indices of packets that start an IDR picture
    length_size = _nal_length_size(stream) if codec in ("h264", "hevc") else 0
    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # the demuxer's final, empty packet
        if packet.pts is None:
            return SegmentPlan((), 0.0, reason="packets without time stamps")
        if packet.is_keyframe and _starts_independently(packet, codec, length_size):
            candidates.append(len(pts))
        pts.append(int(packet.pts))
    if len(pts) < 2:
        return SegmentPlan((), 0.0, reason="too few packets")
    shown = np.asarray(pts, dtype=np.int64)
    if len(np.unique(shown)) != len(shown):
        return SegmentPlan((), 0.0, reason="repeated time stamps")
    shown_before = np.maximum.accumulate(shown)  # latest time shown up to each packet
    shown_after = np.minimum.accumulate(shown[::-1])[::-1]  # earliest from each packet on
    start = float(shown.min() * tb)
    boundaries = tuple(
        Keyframe(pts[i], float(pts[i] * tb))
        for i in candidates
        if i > 0 and shown_before[i - 1] < pts[i] and shown_after[i] == pts[i]
    )
    duration = float((shown.max() - shown.min()) * tb)
    reason = "" if boundaries else "no closed-GOP keyframe (open GOPs, or a single GOP)"
    return SegmentPlan(boundaries, duration, reason, start)


def _nal_length_size(stream: av.VideoStream) -> int:
    """Bytes of each NAL unit's length prefix (avcC/hvcC extradata), 0 for Annex B streams
    (start codes)."""
    extra = stream.codec_context.extradata or b""
    if not extra or extra[:3] == b"\x00\x00\x01" or extra[:4] == b"\x00\x00\x00\x01":
        return 0
    if stream.codec_context.name == "h264" and len(extra) > 4:
        return (extra[4] & 0x03) + 1
    if stream.codec_context.name == "hevc" and len(extra) > 21:
        return (extra[21] & 0x03) + 1
    return 0


def _starts_independently(packet: av.Packet, codec: str, length_size: int) -> bool:
    """Whether nothing after this keyframe can refer to an earlier picture. Codecs whose
    keyframes always reset the decoder (VP8/9, AV1, MPEG-4 part 2...) only need the flag;
    the GOP ordering check in `_scan` catches the rest."""
    if codec not in ("h264", "hevc"):
        return True
    wanted = _H264_IDR if codec == "h264" else _HEVC_IDR
    return any(t in wanted for t in _nal_types(bytes(packet), codec, length_size))


def _nal_types(data: bytes, codec: str, length_size: int) -> list[int]:
    types: list[int] = []
    units: list[int] = []  # offsets of each NAL unit's header
    if length_size:
        at = 0
        while at + length_size <= len(data):
            size = int.from_bytes(data[at : at + length_size], "big")
            at += length_size
            if size <= 0 or at + size > len(data):
                break
            units.append(at)
            at += size
    else:
        at = data.find(b"\x00\x00\x01")
        while at != -1 and at + 3 < len(data):
            units.append(at + 3)
            at = data.find(b"\x00\x00\x01", at + 3)
    for offset in units:
        header = data[offset]
        types.append(header & 0x1F if codec == "h264" else (header >> 1) & 0x3F)
    return types
