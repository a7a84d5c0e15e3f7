"""Decode a video once, cheaply: every frame as a tiny analysis image, full frames on demand.

Shot detection needs every frame, but only a thumbnail-sized view of it; the encoder needs
a few frames at ~256 px. So each decoded frame is scaled by FFmpeg (swscale) straight to a
48x27 analysis image, and the larger working image is produced only for frames the sampler
keeps. Decoding is threaded by FFmpeg. Each size has its own reusable swscale context
(a fresh one per frame costs more than decoding: ~580 vs ~8000 frames/s at 320x180).

KEYFRAMES mode decodes only keyframes: encoders place one at every scene cut (x264's
scenecut) and every few seconds (x264: at most 250 frames apart), so each shot still gets a
frame, at a fraction of the cost; the sampling interval then cannot be shorter than the gap
between keyframes. Truncation is judged from the packets read, not the frames decoded.

In FAST mode (the default) the decoder also skips what the sampler can do without:
non-reference frames (typically 2 of every 4 frames in H.264 with B-frames: never needed to
decode others) and the deblocking filter, with FFmpeg's non-spec-compliant speed-ups on.
Measured on 720p H.264 (libx264 defaults): ~1.8x faster decoding; kept frames differ from
exact decoding by ~44 dB PSNR (median). Cuts land on the first decoded frame of the new
shot: exact when the encoder put a reference frame there (x264 puts an I-frame at a scene
cut), otherwise within the run of skipped B-frames (<= 3 frames). EXACT decodes every frame.

PyAV does not raise on a truncated file, it just stops early: the last frame's time is
compared with the duration the container announces.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from vidsearch.errors import DecodeError
from vidsearch.media.probe import open_video, stream_span
from vidsearch.types import DecodeMode

ANALYSIS_SIZE = (48, 27)  # width, height
WORKING_SHORT_SIDE = 256
# ...and the long side at most this (extreme aspect ratios: a 2x60000 frame stays 2x2048;
# the encoder keeps only the centred square anyway), so a working image is < 1.6 MB.
WORKING_MAX_SIDE = 2048
# A file counts as truncated when decoding ends this long before its announced end.
TRUNCATION_TOLERANCE_S = 0.5
TRUNCATION_TOLERANCE_FRAMES = 3
# More decoder threads than cores keeps FFmpeg's frame threading busy (measured: 4 threads
# on 2 cores decode 720p H.264 ~25% faster than 2).
DECODER_THREADS = max(4, 2 * (os.cpu_count() or 1))


def _configure_decoder(stream: av.VideoStream, mode: DecodeMode, threads: int) -> None:
    """Must run before the first packet is decoded (the codec opens with these settings)."""
    context = stream.codec_context
    if threads > 1:
        stream.thread_type = "AUTO"
    context.thread_count = threads
    if mode is DecodeMode.FAST:
        context.skip_frame = "NONREF"
        context.options = {"skip_loop_filter": "all", "flags2": "fast"}
    elif mode is DecodeMode.KEYFRAMES:
        context.skip_frame = "NONKEY"
        context.options = {"flags2": "fast"}


@dataclass(slots=True)
class DecodedFrame:
    """One decoded frame: its exact time, a tiny RGB view, and its working image on demand.

    `render` makes the working image: scaled from the decoded frame when asked (decoding in
    this process), or handed over ready-made (decoded by a worker process).
    """

    timestamp: float
    pts: int
    analysis: np.ndarray  # (27, 48, 3) uint8
    render: Callable[[], np.ndarray]

    def working_image(self) -> np.ndarray:
        """RGB uint8 with the short side at WORKING_SHORT_SIDE px and the long side at most
        WORKING_MAX_SIDE (never upscaled), turned upright."""
        return self.render()

    def gray(self, height: int) -> np.ndarray | None:
        """The decoded frame in grey, `height` rows high (aspect kept, even width), for a
        reader that needs more detail than the working image (OCR); None when the frame was
        decoded by a worker process (only its working image came back)."""
        render = self.render
        if not isinstance(render, _Scaled):
            return None
        frame = render.frame
        width = max(2, round(frame.width * height / max(1, frame.height) / 2) * 2)
        return frame.reformat(
            width=width, height=height, format="gray", interpolation=Interpolation.AREA
        ).to_ndarray()


@dataclass(slots=True)
class _Scaled:
    """Scales one decoded frame to the working size when called (a reusable swscale context)."""

    frame: av.VideoFrame
    size: tuple[int, int]
    reformatter: VideoReformatter
    # Quarter turns (counter-clockwise) that the display matrix asks for: phones store
    # portrait video as landscape frames plus a rotation. The analysis view stays unturned.
    turns: int = 0

    def __call__(self) -> np.ndarray:
        w, h = self.size
        image = self.reformatter.reformat(
            self.frame, width=w, height=h, format="rgb24", interpolation=Interpolation.AREA
        ).to_ndarray()
        return np.ascontiguousarray(np.rot90(image, self.turns)) if self.turns else image


def working_size(
    width: int,
    height: int,
    short_side: int = WORKING_SHORT_SIDE,
    max_side: int = WORKING_MAX_SIDE,
) -> tuple[int, int]:
    """Scale (width, height) so the short side is `short_side` and the long side at most
    `max_side` (never upscaled), keeping even dimensions."""
    longest = max(1, width, height)
    scale = min(1.0, short_side / max(1, min(width, height)), max_side / longest)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


@dataclass(frozen=True, slots=True)
class Span:
    """A run of packets that decodes on its own: from a clean keyframe (an IDR frame that
    no later frame looks past) up to the next one, each named by its presentation time stamp
    (some containers, Matroska among them, give packets no decode time stamp).
    `media/segments.py` plans them."""

    start_pts: int | None  # the keyframe that starts it; None: the file's start
    end_pts: int | None  # the keyframe that starts the next span (excluded); None: the end
    start_time: float = 0.0  # the keyframe's time in seconds (for messages)

    @property
    def last(self) -> bool:
        return self.end_pts is None


WHOLE_FILE = Span(None, None)


def decode_frames(
    path: Path,
    mode: DecodeMode = DecodeMode.FAST,
    *,
    span: Span = WHOLE_FILE,
    threads: int | None = None,
) -> Iterator[DecodedFrame]:
    """Yield the frames of the first video stream in presentation order (in FAST mode,
    only the reference frames), of the whole file or of one `span` of it.

    `threads`: FFmpeg decoder threads (default DECODER_THREADS; 1 in a worker process,
    where the pool spreads the work instead).

    Raises DecodeError when FFmpeg fails mid-stream, when no frame decodes, or when the
    stream stops well before the duration the container announces (a truncated file).
    """
    with open_video(path) as (container, stream):
        _configure_decoder(stream, mode, threads or DECODER_THREADS)
        tb = stream.time_base
        demuxed_end = 0.0  # end of the last packet read, decoded or skipped

        packets = _span_packets(container, stream, span)

        def decoded() -> Iterator[av.VideoFrame]:
            nonlocal demuxed_end
            for packet in packets:
                if packet.pts is not None and tb is not None:
                    end = float((packet.pts + (packet.duration or 0)) * tb)
                    demuxed_end = max(demuxed_end, end)
                yield from packet.decode()
            if not span.last:
                yield from stream.codec_context.decode(None)  # drain the decoder

        rate = stream.average_rate or stream.guessed_rate
        frame_duration = float(1 / rate) if rate else 0.04
        start, announced_end = stream_span(container, stream)
        size = working_size(stream.codec_context.width, stream.codec_context.height)
        last_time: float | None = None
        index = 0
        to_analysis, to_working = VideoReformatter(), VideoReformatter()
        try:
            for frame in decoded():
                if frame.pts is not None and tb is not None:
                    pts = int(frame.pts)
                    timestamp = float(frame.pts * tb)
                else:  # no timestamps at all: fall back to the frame rate
                    pts = index
                    timestamp = start + index * frame_duration
                index += 1
                if last_time is not None and timestamp <= last_time:
                    continue  # duplicate or out-of-order timestamp: keep time monotonic
                last_time = timestamp
                analysis = to_analysis.reformat(
                    frame,
                    width=ANALYSIS_SIZE[0],
                    height=ANALYSIS_SIZE[1],
                    format="rgb24",
                    interpolation=Interpolation.AREA,
                ).to_ndarray()
                turns = round(frame.rotation / 90) % 4
                yield DecodedFrame(
                    timestamp, pts, analysis, _Scaled(frame, size, to_working, turns)
                )
        except av.FFmpegError as exc:
            if span.last and announced_end and _exhausted(packets):
                # the file's last packet is cut short: a truncated file (FFmpeg's frame
                # threads end quietly there, a single decoder thread raises)
                stopped = max(last_time or start, demuxed_end)
                raise DecodeError(
                    f"{path}: truncated or corrupt: decoding stopped at {stopped:.2f}s "
                    f"of {announced_end:.2f}s announced"
                ) from None
            at = f" at {last_time:.2f}s" if last_time is not None else ""
            raise DecodeError(f"{path}: decoding failed{at}: {exc.strerror or exc}") from None
        if last_time is None:
            where = "" if span == WHOLE_FILE else f" in the segment from {span.start_time:.2f}s"
            raise DecodeError(f"{path}: no video frame could be decoded{where}")
        if not span.last:
            return  # truncation shows in the last segment
        tolerance = max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRAMES * frame_duration)
        decoded_end = last_time + frame_duration
        if mode is DecodeMode.KEYFRAMES:  # frames are seconds apart: trust the packets read
            decoded_end = max(decoded_end, demuxed_end)
        if announced_end and decoded_end + tolerance < announced_end:
            raise DecodeError(
                f"{path}: truncated or corrupt: decoding stopped at {decoded_end:.2f}s "
                f"of {announced_end:.2f}s announced"
            )


def _exhausted(packets: Iterator[av.Packet]) -> bool:
    """Whether no packet with data is left (after a decoding error; a demuxer that fails
    too cannot tell)."""
    try:
        return all(packet.size == 0 for packet in packets)
    except av.FFmpegError:
        return False


def _span_packets(
    container: av.container.InputContainer, stream: av.VideoStream, span: Span
) -> Iterator[av.Packet]:
    """The packets of `span` in decode order (the last span: up to the demuxer's final,
    empty packet, which drains the decoder). A seek that lands past the span's keyframe (a
    container without an index) is retried from the file's start; packets before the
    keyframe are skipped without decoding."""
    packets: Iterator[av.Packet] = container.demux(stream)
    if span.start_pts is not None:
        packets = _from_keyframe(container, stream, span.start_pts)
    for packet in packets:
        if span.end_pts is not None and packet.is_keyframe and packet.pts == span.end_pts:
            return
        if span.end_pts is not None and packet.size == 0:
            continue  # the demuxer's final packet: the caller drains the decoder instead
        yield packet


def _from_keyframe(
    container: av.container.InputContainer, stream: av.VideoStream, pts: int
) -> Iterator[av.Packet]:
    for attempt in ("seek", "from the start"):
        if attempt == "seek":
            container.seek(pts, stream=stream, backward=True, any_frame=False)
        else:
            container.seek(0, stream=stream, backward=True, any_frame=False)
        packets = container.demux(stream)
        for packet in packets:
            if packet.is_keyframe and packet.pts == pts:
                yield packet
                yield from packets
                return
            if attempt == "seek" and packet.is_keyframe and packet.pts is not None:
                if packet.pts > pts:
                    break  # landed past it: read from the start instead
    raise DecodeError(f"the keyframe at pts {pts} that starts a segment was not found")
