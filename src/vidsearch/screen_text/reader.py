"""Text on screen, as cues: one decode pass, the subtitle band at a fixed rate, full frames where
the frame sampler kept them.

    reader = open_screen_reader(); reader.load()
    report = reader.read(path, frame_times=kept)   # ScreenTextReport(cues, ...)

Two streams of samples come out of the one decode pass (FAST mode, media/decode.py):
- the band (bottom quarter) every 1/band_rate s: cleaned to its outlined text, skipped when
  the pre-filter sees no text in it, and given the last reading when its text mask has not
  changed since the last band sent to OCR;
- the frame above the band at each of `frame_times`, in grey, when the pre-filter lets it pass
  (the whole frame when the band shows text but no outlined subtitle: a sign low in the
  frame); a line the band stream also read at that time is left to the band.
Images go to Tesseract in batches while decoding goes on; each stream's readings are merged
into spans (spans.py) and become `Cue`s, with the language of their script.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vidsearch.media.decode import DecodedFrame, decode_frames
from vidsearch.media.probe import open_video, stream_span
from vidsearch.screen_text.band import OCR_FRAME_HEIGHT, BandMemory, band_top, outlined_text
from vidsearch.screen_text.prefilter import may_hold_text
from vidsearch.screen_text.spans import drop_repeats
from vidsearch.screen_text.streams import SampleStream
from vidsearch.screen_text.tesseract import (
    AUTO_LAYOUT,
    DEFAULT_LANGUAGES,
    UNIFORM_BLOCK,
    TesseractEngine,
)
from vidsearch.subtitles.cues import Cue
from vidsearch.types import DecodeMode

# Subtitle lines last >= ~1 s; at 2 samples/s each is seen at least twice (measured on the
# generated 60 s video: start/end within 0.25 s at 2/s, up to 0.50 s at 1/s; the OCR calls
# stay at one per line whatever the rate, as unchanged bands reuse their reading).
BAND_RATE = 2.0
BATCH_SIZE = 16  # images per Tesseract process: its ~0.1 s start-up is shared by the batch
# A full frame's span reaches at most this far from its sample (frames are seconds apart).
FRAME_REACH_S = 1.0
# A sample is taken at the first decoded frame at (or this close before) its time; a frame
# time may be met a little early (FAST decoding skips non-reference frames: ~2 frames apart).
TIME_SLACK_S = 1e-3
FRAME_SLACK_S = 0.02
# Bumped whenever a threshold or a step changes what is read (part of `identity`).
THRESHOLDS_VERSION = 3


@dataclass(slots=True)
class ScreenTextReport:
    cues: list[Cue]  # merged spans, sorted by start
    frames_sampled: int
    frames_read: int  # images sent to OCR (their re-reads inside the engine not counted)
    seconds: float  # wall time spent
    warnings: list[str] = field(default_factory=list)


class ScreenTextReader:
    """Reads the text on screen of one video at a time; see the module docstring."""

    def __init__(
        self,
        engine: TesseractEngine,
        *,
        band_rate: float = BAND_RATE,
        batch_size: int = BATCH_SIZE,
        decode_mode: DecodeMode = DecodeMode.FAST,
    ) -> None:
        self.engine = engine
        self.band_rate = band_rate
        self.batch_size = batch_size
        self.decode_mode = decode_mode

    @property
    def identity(self) -> str:
        """Changes exactly when the output could: Tesseract's version and language files,
        the languages, the band rate, the thresholds. Checks for Tesseract (ModelError)."""
        languages = "+".join(self.engine.languages)
        return (
            f"tesseract-{self.engine.version}:{languages}:band{self.band_rate:g}"
            f":v{THRESHOLDS_VERSION}"
        )

    def load(self) -> None:
        """Check for Tesseract and its languages now (ModelError with the apt line)."""
        self.engine.load()

    def close(self) -> None:
        self.engine.close()

    def read(
        self,
        path: Path,
        *,
        frame_times: Sequence[float] = (),
        progress: Callable[[float, float], None] | None = None,
    ) -> ScreenTextReport:
        """The cues of text on screen in `path`: the band at `band_rate`, the frames at
        `frame_times` (seconds). Raises MediaError/DecodeError for an unusable video."""
        started = time.perf_counter()
        self.load()
        with open_video(path) as (container, stream):
            total = stream_span(container, stream)[1]
        step = 1.0 / self.band_rate
        band = SampleStream(self.engine, UNIFORM_BLOCK, self.batch_size, reach=step / 2)
        frames = SampleStream(
            self.engine,
            AUTO_LAYOUT,
            self.batch_size,
            reach=FRAME_REACH_S,
            halve_empty=True,
            single_sample_ok=True,
        )
        warnings: list[str] = []
        try:
            last = self._sample(path, band, frames, frame_times, progress, total, warnings)
            band_cues = band.cues()
            cues = band_cues + drop_repeats(frames.cues(), band_cues)
        finally:
            band.cancel()
            frames.cancel()
        end = max(total, last)
        if progress is not None:
            progress(end, end)
        cues = [cue if cue.end <= end else replace(cue, end=end) for cue in cues]
        return ScreenTextReport(
            cues=sorted(cues, key=lambda c: (c.start, c.end)),
            frames_sampled=len(band.times) + len(frames.times),
            frames_read=band.images_sent + frames.images_sent,
            seconds=time.perf_counter() - started,
            warnings=warnings,
        )

    def _sample(
        self,
        path: Path,
        band: SampleStream,
        frames: SampleStream,
        frame_times: Sequence[float],
        progress: Callable[[float, float], None] | None,
        total: float,
        warnings: list[str],
    ) -> float:
        """The decode pass: feed the band every 1/band_rate s and the frames at
        `frame_times` to their streams; returns the last frame's time."""
        memory = BandMemory()
        wanted = sorted(frame_times)
        next_frame, next_band, t = 0, 0.0, 0.0
        for decoded in decode_frames(path, self.decode_mode):
            t = decoded.timestamp
            take_band = t >= next_band - TIME_SLACK_S
            take_frame = next_frame < len(wanted) and t >= wanted[next_frame] - FRAME_SLACK_S
            if not (take_band or take_frame):
                continue
            gray = _gray(decoded, warnings)
            top = band_top(gray.shape[0])
            mask = outlined_text(gray[top:])
            subtitled = may_hold_text(mask)
            if take_band:
                while next_band <= t + TIME_SLACK_S:
                    next_band += 1.0 / self.band_rate
                if not subtitled:
                    memory.forget()
                    band.add(t)
                elif memory.same_as_last(mask):
                    band.add(t, same_as_last=True)  # the last reading serves this sample too
                else:
                    memory.remember(mask)
                    band.add(t, mask)
            if take_frame:
                while next_frame < len(wanted) and wanted[next_frame] <= t + FRAME_SLACK_S:
                    next_frame += 1
                # the band is the band stream's, unless it shows text that is no subtitle
                # (a sign low in the frame): then the whole frame is read
                whole = not subtitled and may_hold_text(gray[top:])
                region = gray if whole else gray[:top]
                frames.add(t, region if may_hold_text(region) else None)
            if progress is not None:
                progress(t, total)
        return t


def open_screen_reader(
    languages: Sequence[str] = DEFAULT_LANGUAGES, *, workers: int | None = None
) -> ScreenTextReader:
    """A reader with Tesseract for `languages`, `workers` processes at once (default: up to 2)."""
    return ScreenTextReader(TesseractEngine(languages, workers=workers))


def _gray(decoded: DecodedFrame, warnings: list[str]) -> np.ndarray:
    """The frame in grey, scaled to OCR_FRAME_HEIGHT rows, from the decoded frame itself (the
    working image is too small to read text on: 256 px high)."""
    gray = decoded.gray(OCR_FRAME_HEIGHT)
    if gray is not None:
        return gray
    if not warnings:
        warnings.append("on-screen text read from reduced frames: small text may be missed")
    image = decoded.working_image()
    return (image @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
