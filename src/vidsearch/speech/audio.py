"""A video's audio track as 16 kHz mono float32, streamed in blocks (never the whole track).

One hour of 16 kHz float32 audio is 230 MB, so nothing here holds more than one block
(`BLOCK_SECONDS`) plus FFmpeg's resampler buffer; the caller (VAD, then ASR on speech spans)
keeps only the speech it still needs.

A video without an audio stream has no speech: `read_audio` yields nothing, no error. PyAV
does not raise on a truncated file, it just stops early: like `media/decode.py` for video,
the end of the decoded audio is compared with the duration the file announces.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import numpy as np

from vidsearch.errors import DecodeError, MediaError
from vidsearch.media.probe import stream_span

SAMPLE_RATE = 16_000  # what Whisper and Silero VAD expect
BLOCK_SECONDS = 30.0
# Decoding that ends this long before the announced end means a truncated or corrupt file
# (AAC and Opus frames are ~20-64 ms; containers round durations).
TRUNCATION_TOLERANCE_S = 0.5


@dataclass(frozen=True, slots=True)
class AudioBlock:
    """Consecutive samples of the track: `samples[0]` plays at `start` seconds (video time)."""

    start: float
    samples: np.ndarray  # float32, mono, SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class AudioTrack:
    """What the file announces about its first audio stream (None: it has none)."""

    start: float
    end: float  # 0.0 when the file announces no duration

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@contextmanager
def _open(path: Path) -> Iterator[av.container.InputContainer]:
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: cannot be read by FFmpeg: {exc.strerror or exc}") from None
    try:
        yield container
    finally:
        container.close()


def probe_audio(path: Path) -> AudioTrack | None:
    """The first audio stream's announced span, or None when the file has no audio."""
    with _open(path) as container:
        if not container.streams.audio:
            return None
        start, end = stream_span(container, container.streams.audio[0])
        return AudioTrack(start, end)


def read_audio(path: Path, *, block_seconds: float = BLOCK_SECONDS) -> Iterator[AudioBlock]:
    """Yield the first audio stream as blocks of `block_seconds` (the last one shorter).

    Samples are counted from the first decoded frame's time, so block times are video times
    even when the audio starts late. Raises DecodeError when FFmpeg fails mid-stream or the
    audio stops well before the announced end (truncated file).
    """
    block_size = max(1, int(block_seconds * SAMPLE_RATE))
    with _open(path) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        start, announced_end = stream_span(container, stream)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        pending: list[np.ndarray] = []
        pending_size = 0
        first: float | None = None
        emitted = 0  # samples yielded so far
        try:
            for frame in _decoded(container, stream):
                if first is None:
                    first = float(frame.pts * stream.time_base) if frame.pts is not None else start
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    pending_size += out.samples
                while pending_size >= block_size:
                    block, pending, pending_size = _take(pending, block_size)
                    yield AudioBlock(first + emitted / SAMPLE_RATE, block)
                    emitted += block_size
            for out in resampler.resample(None):  # flush
                pending.append(out.to_ndarray().reshape(-1))
                pending_size += out.samples
        except av.FFmpegError as exc:
            at = (first or start) + emitted / SAMPLE_RATE
            raise DecodeError(
                f"{path}: audio decoding failed near {at:.2f}s: {exc.strerror or exc}"
            ) from None
        while pending_size:
            block, pending, pending_size = _take(pending, min(block_size, pending_size))
            yield AudioBlock((first or start) + emitted / SAMPLE_RATE, block)
            emitted += len(block)
        decoded_end = (first or start) + emitted / SAMPLE_RATE
        if announced_end and decoded_end + TRUNCATION_TOLERANCE_S < announced_end:
            raise DecodeError(
                f"{path}: truncated or corrupt audio: decoding stopped at {decoded_end:.2f}s "
                f"of {announced_end:.2f}s announced"
            )


def _decoded(
    container: av.container.InputContainer, stream: av.AudioStream
) -> Iterator[av.AudioFrame]:
    for packet in container.demux(stream):
        yield from packet.decode()


def _take(chunks: list[np.ndarray], size: int) -> tuple[np.ndarray, list[np.ndarray], int]:
    """The first `size` samples of `chunks` as one array, and what is left."""
    joined = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    head = np.ascontiguousarray(joined[:size], dtype=np.float32)
    rest = joined[size:]
    return head, ([rest] if len(rest) else []), len(rest)
