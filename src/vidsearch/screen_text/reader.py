"""Text on screen, as cues: one decode pass, the subtitle band at a fixed rate, full frames where
the frame sampler kept them.

    reader = open_screen_reader(); reader.load()
    report = reader.read(path, frame_times=kept)   # ScreenTextReport(cues, ...)

Two streams of samples come out of the one decode pass (FAST mode, media/decode.py):
- the band (bottom quarter) every 1/band_rate s: cleaned to its outlined text, skipped when
  the pre-filter sees no text in it, and given the last reading when its text mask has not
  changed since the last band sent to OCR;
- the frame above the band at each of `frame_times`, in grey, when the pre-filter lets it pass.
Images go to Tesseract in batches while decoding goes on; each stream's readings are merged
into spans (spans.py) and become `Cue`s, with the language of their script.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation

from vidsearch.media.decode import DecodedFrame, decode_frames
from vidsearch.media.probe import open_video, stream_span
from vidsearch.screen_text.band import OCR_FRAME_HEIGHT, BandMemory, band_top, outlined_text
from vidsearch.screen_text.prefilter import may_hold_text
from vidsearch.screen_text.spans import Sample, merge_samples
from vidsearch.screen_text.tesseract import (
    AUTO_LAYOUT,
    DEFAULT_LANGUAGES,
    UNIFORM_BLOCK,
    OcrLine,
    TesseractEngine,
)
from vidsearch.subtitles.cues import Cue
from vidsearch.text.language import detect_language
from vidsearch.types import DecodeMode

# Subtitle lines last >= ~1 s; at 2 samples/s each is seen at least twice (measured on the
# generated video: every line found within +-0.25 s at 2/s; 1/s misses lines and halves
# the time precision).
BAND_RATE = 2.0
BATCH_SIZE = 16  # images per Tesseract process: its ~0.1 s start-up is shared by the batch
# A full frame's span reaches at most this far from its sample (frames are seconds apart).
FRAME_REACH_S = 1.0
# Bumped whenever a threshold or a step changes what is read (part of `identity`).
THRESHOLDS_VERSION = 2
BAND, FRAME = "band", "frame"


@dataclass(slots=True)
class ScreenTextReport:
    cues: list[Cue]  # merged spans, sorted by start
    frames_sampled: int
    frames_read: int  # images sent to OCR
    seconds: float  # wall time spent
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    """Images of one stream waiting for a batch, and the batches submitted."""

    mode: int
    halve_empty: bool  # read again at half size when nothing was read (large titles)
    images: list[np.ndarray] = field(default_factory=list)
    slots: list[list[int]] = field(default_factory=list)  # sample indices per image
    batches: list[tuple[Future[list[list[OcrLine]]], list[list[int]]]] = field(default_factory=list)


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
        """Changes exactly when the output could: Tesseract's version, the languages, the
        band rate, the thresholds."""
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
        samples: dict[str, list[float]] = {BAND: [], FRAME: []}
        pending = {BAND: _Pending(UNIFORM_BLOCK, False), FRAME: _Pending(AUTO_LAYOUT, True)}
        memory = BandMemory()
        last_band_slot: list[int] | None = None
        wanted = sorted(frame_times)
        next_frame = 0
        step = 1.0 / self.band_rate
        next_band = 0.0
        warnings: list[str] = []
        for decoded in decode_frames(path, self.decode_mode):
            t = decoded.timestamp
            take_band = t >= next_band - 1e-3
            take_frame = next_frame < len(wanted) and t >= wanted[next_frame] - 0.02
            if not (take_band or take_frame):
                continue
            gray = _gray(decoded, warnings)
            top = band_top(gray.shape[0])
            if take_band:
                while next_band <= t + 1e-3:
                    next_band += step
                samples[BAND].append(t)
                index = len(samples[BAND]) - 1
                mask = outlined_text(gray[top:])
                if not may_hold_text(mask):
                    memory.forget()
                elif last_band_slot is not None and memory.same_as_last(mask):
                    last_band_slot.append(index)  # same text as the band last read
                else:
                    memory.remember(mask)
                    last_band_slot = self._add(pending[BAND], mask, index)
            if take_frame:
                while next_frame < len(wanted) and wanted[next_frame] <= t + 0.02:
                    next_frame += 1
                samples[FRAME].append(t)
                upper = gray[:top]
                if may_hold_text(upper):
                    self._add(pending[FRAME], upper, len(samples[FRAME]) - 1)
            if progress is not None:
                progress(t, total)
        cues: list[Cue] = []
        for kind, reach, once_ok in ((BAND, step / 2, False), (FRAME, FRAME_REACH_S, True)):
            readings = self._collect(pending[kind], len(samples[kind]))
            stream_samples = [
                Sample(t, lines) for t, lines in zip(samples[kind], readings, strict=True)
            ]
            spans = merge_samples(stream_samples, max_reach=reach, single_sample_ok=once_ok)
            cues += [Cue(s.start, s.end, s.text, detect_language(s.text)) for s in spans]
        if progress is not None:
            progress(total, total)
        cues.sort(key=lambda c: (c.start, c.end))
        read = sum(len(served) for p in pending.values() for _, served in p.batches)
        return ScreenTextReport(
            cues=cues,
            frames_sampled=len(samples[BAND]) + len(samples[FRAME]),
            frames_read=read,
            seconds=time.perf_counter() - started,
            warnings=warnings,
        )

    def _add(self, pending: _Pending, image: np.ndarray, index: int) -> list[int]:
        """Queue `image` for OCR for sample `index`; returns the list of samples it serves."""
        slot = [index]
        pending.images.append(image)
        pending.slots.append(slot)
        if len(pending.images) >= self.batch_size:
            self._submit(pending)
        return slot

    def _submit(self, pending: _Pending) -> None:
        if pending.images:
            future = self.engine.submit(
                pending.images, pending.mode, halve_empty=pending.halve_empty
            )
            pending.batches.append((future, pending.slots))
            pending.images, pending.slots = [], []

    def _collect(self, pending: _Pending, count: int) -> list[list[tuple[str, float]]]:
        """Each sample's lines (text, confidence), once every batch is read."""
        self._submit(pending)
        readings: list[list[tuple[str, float]]] = [[] for _ in range(count)]
        for future, slots in pending.batches:
            for lines, served in zip(future.result(), slots, strict=True):
                for index in served:
                    readings[index] = [(line.text, line.confidence) for line in lines]
        return readings


def open_screen_reader(
    languages: Sequence[str] = DEFAULT_LANGUAGES, *, workers: int | None = None
) -> ScreenTextReader:
    """A reader with Tesseract for `languages`, `workers` processes at once (default: up to 2)."""
    return ScreenTextReader(TesseractEngine(languages, workers=workers))


def _gray(decoded: DecodedFrame, warnings: list[str]) -> np.ndarray:
    """The frame in grey, scaled to OCR_FRAME_HEIGHT rows, from the decoded frame itself (the
    working image is too small to read text on: 256 px high)."""
    frame = getattr(decoded.render, "frame", None)
    if isinstance(frame, av.VideoFrame):
        scale = OCR_FRAME_HEIGHT / frame.height
        width = max(2, round(frame.width * scale / 2) * 2)
        return frame.reformat(
            width=width, height=OCR_FRAME_HEIGHT, format="gray", interpolation=Interpolation.AREA
        ).to_ndarray()
    if not warnings:
        warnings.append("on-screen text read from reduced frames: small text may be missed")
    image = decoded.working_image()
    return (image @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
