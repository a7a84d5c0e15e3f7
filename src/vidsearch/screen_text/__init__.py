"""On-screen text: burned-in subtitles, signs and titles, read by OCR and merged into cues.

    reader = open_screen_reader(("eng", "fas"))
    reader.load()                                 # ModelError: Tesseract or a language missing
    report = reader.read(path, frame_times=kept)  # ScreenTextReport(cues, ...)
    reader.close()

Modules: tesseract (the OCR process), tsv (its output as lines), prefilter (could an image
hold text?), band (the subtitle band's mask and change test), spans (readings merged over
time), streams (one region's samples and batches), reader (the decode pass).
"""

from vidsearch.screen_text.reader import (
    BAND_RATE,
    ScreenTextReader,
    ScreenTextReport,
    open_screen_reader,
)
from vidsearch.screen_text.spans import Sample, TextSpan, merge_samples
from vidsearch.screen_text.tesseract import TesseractEngine
from vidsearch.screen_text.tsv import OcrLine

__all__ = [
    "BAND_RATE",
    "OcrLine",
    "Sample",
    "ScreenTextReader",
    "ScreenTextReport",
    "TesseractEngine",
    "TextSpan",
    "merge_samples",
    "open_screen_reader",
]
