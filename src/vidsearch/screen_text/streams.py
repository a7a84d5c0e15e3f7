"""One stream of samples (the subtitle band, or the frames the sampler kept): their times, the
images waiting for OCR, the batches in flight, and at the end the stream's cues.

A band sample whose text is unchanged shares the reading of the last image sent (`add` with
`same_as_last`), so one OCR call can serve many samples. Batches are sent while decoding goes
on; when BATCHES_IN_FLIGHT per worker are queued, `add` waits for the oldest, so OCR slower
than decoding does not pile frames up in memory.
"""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np

from vidsearch.screen_text.spans import Sample, merge_samples
from vidsearch.screen_text.tesseract import TesseractEngine
from vidsearch.screen_text.tsv import OcrLine
from vidsearch.subtitles.cues import Cue
from vidsearch.text.language import detect_language

BATCHES_IN_FLIGHT = 2


class SampleStream:
    """Samples of one region, read in batches by `engine` with page segmentation `mode`."""

    def __init__(
        self,
        engine: TesseractEngine,
        mode: int,
        batch_size: int,
        *,
        reach: float,
        halve_empty: bool = False,
        single_sample_ok: bool = False,
    ) -> None:
        self.engine = engine
        self.mode = mode
        self.batch_size = batch_size
        self.reach = reach  # how far a span reaches past its first and last sample
        self.halve_empty = halve_empty  # read images with nothing read again at half size
        self.single_sample_ok = single_sample_ok  # keep text seen on one sample (sparse frames)
        self.times: list[float] = []
        self.images_sent = 0
        self._images: list[np.ndarray] = []
        self._slots: list[list[int]] = []  # per waiting image: the samples it serves
        self._last_slot: list[int] | None = None
        self._batches: list[tuple[Future[list[list[OcrLine]]], list[list[int]]]] = []

    def add(
        self, time: float, image: np.ndarray | None = None, *, same_as_last: bool = False
    ) -> None:
        """A sample at `time`: `image` to read, or nothing to read (None), or the same text
        as the last image added (`same_as_last`)."""
        self.times.append(time)
        index = len(self.times) - 1
        if same_as_last and self._last_slot is not None:
            self._last_slot.append(index)
            return
        self._last_slot = None
        if image is None:
            return
        self._last_slot = [index]
        self._images.append(image)
        self._slots.append(self._last_slot)
        if len(self._images) >= self.batch_size:
            self._send()

    def cues(self) -> list[Cue]:
        """Wait for every batch; the stream's lines merged into spans, as cues."""
        self._send()
        readings: list[list[tuple[str, float]]] = [[] for _ in self.times]
        for future, slots in self._batches:
            for lines, served in zip(future.result(), slots, strict=True):
                for index in served:
                    readings[index] = [(line.text, line.confidence) for line in lines]
        samples = [Sample(t, lines) for t, lines in zip(self.times, readings, strict=True)]
        spans = merge_samples(samples, max_reach=self.reach, single_sample_ok=self.single_sample_ok)
        return [Cue(s.start, s.end, s.text, detect_language(s.text)) for s in spans]

    def cancel(self) -> None:
        """Drop the batches not started yet (after an error)."""
        for future, _ in self._batches:
            future.cancel()

    def _send(self) -> None:
        if not self._images:
            return
        running = [future for future, _ in self._batches if not future.done()]
        if len(running) >= BATCHES_IN_FLIGHT * self.engine.workers:
            running[0].result()
        future = self.engine.submit(self._images, self.mode, halve_empty=self.halve_empty)
        self._batches.append((future, self._slots))
        self.images_sent += len(self._images)
        self._images, self._slots = [], []
