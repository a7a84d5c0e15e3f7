"""Open a file with FFmpeg (through PyAV) and describe its video stream, or say why not."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import av.container

from vidsearch.errors import MediaError
from vidsearch.fingerprint import file_fingerprint
from vidsearch.types import VideoInfo

# Frames larger than this are refused before decoding: FFmpeg accepts up to ~268 MP, and a
# few such frames in flight in its decoder threads take gigabytes (8192 x 8192 = 67 MP).
MAX_FRAME_PIXELS = 8192 * 8192


def printable_path(path: Path | str) -> str:
    """The path for one-line messages: bytes that are not UTF-8 and control characters
    (a newline...) written as escapes."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(
        c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" else c
        for c in text
    )


def _check_path(path: Path) -> None:
    """Paths end up in the catalog, in JSON and in one-line messages: they must be printable
    UTF-8."""
    text = str(path)
    try:
        os.fsencode(text).decode("utf-8")
    except UnicodeDecodeError:
        raise MediaError(
            f"{printable_path(path)}: the path is not valid UTF-8; rename the file "
            "(e.g. `convmv -f latin1 -t utf8`)"
        ) from None
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise MediaError(
            f"{printable_path(path)}: the path contains control characters (such as a "
            "newline); rename the file"
        )


@contextmanager
def open_video(path: Path) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open `path` and yield (container, first video stream); MediaError says what is wrong."""
    _check_path(path)
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if not path.is_file():
        raise MediaError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise MediaError(f"{path}: not a video file FFmpeg can read (invalid data)") from None
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["no streams"]
            raise MediaError(f"{path}: has no video stream (found: {', '.join(kinds)})")
        stream = container.streams.video[0]
        if stream.codec_context is None or not stream.codec_context.name:
            raise MediaError(f"{path}: unknown video codec, or one this FFmpeg build cannot decode")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > MAX_FRAME_PIXELS:
            raise MediaError(
                f"{path}: frames of {width}x{height} pixels are too large "
                f"(at most {MAX_FRAME_PIXELS // 1_000_000} megapixels)"
            )
        yield container, stream
    finally:
        container.close()


def stream_span(
    container: av.container.InputContainer, stream: av.VideoStream
) -> tuple[float, float]:
    """(start, end) in seconds as the file announces them; end is 0.0 when it announces none."""
    tb = stream.time_base
    start = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
    if stream.duration is not None and tb:
        return start, start + float(stream.duration * tb)
    if container.duration is not None:
        # Containers disagree on whether this counts from 0 or from the start time (Matroska
        # stores the end time); reading it as the end is the reading that never over-claims.
        return start, max(start, container.duration / av.time_base)
    return start, 0.0


def probe_video(path: Path) -> VideoInfo:
    """Describe the video at `path` without decoding frames."""
    with open_video(path) as (container, stream):
        rate = stream.average_rate or stream.guessed_rate
        info_stat = path.stat()
        start, end = stream_span(container, stream)
        return VideoInfo(
            path=str(path),
            content_id=file_fingerprint(path),
            size=info_stat.st_size,
            mtime_ns=info_stat.st_mtime_ns,
            duration=max(0.0, end - start),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(rate) if rate else 0.0,
            frame_count=stream.frames or 0,
        )
