"""Tesseract, run as its own program: images in, lines of text with confidences out.

No Python binding: the `tesseract` binary is driven through a list file, so one process
reads a whole batch of images and pays its start-up (loading the eng and fas models, ~0.1 s
with both) once per batch instead of once per image. Each process gets OMP_THREAD_LIMIT=1:
Tesseract's OpenMP threads cost more than they give on small images (measured: a single
band image took 0.18 s with OpenMP on 2 cores, 0.11 s without), and `workers` processes run
side by side instead.

Words come from the TSV output with their confidence; words below WORD_MIN_CONFIDENCE and lines
below LINE_MIN_CONFIDENCE are dropped (noise and textures read as strings of short "words").
Tesseract's LSTM engine writes right-to-left text in logical order, words within a line
included (its word boxes are not reliable enough to reorder by); lines that Tesseract split
on one row are put in reading order by their boxes, right to left for Persian. Persian
lines are spelled the way queries are (`vidsearch.text.spelling`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vidsearch.errors import ModelError
from vidsearch.text.language import PERSIAN, detect_language, letter_scripts
from vidsearch.text.spelling import words_spelling

APT_LINE = "sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fas"
DEFAULT_LANGUAGES = ("eng", "fas")
# Page segmentation: 3 = automatic layout (signs, titles anywhere; read the generated frames
# a little better than 11, sparse text, at the same cost), 6 = one uniform block.
AUTO_LAYOUT = 3
SPARSE_TEXT = 11
UNIFORM_BLOCK = 6
SINGLE_LINE = 7
# Tesseract's global Otsu threshold loses dark text on a light sign over mid-grey footage
# (nothing read on the generated sign); Sauvola's local threshold reads it.
SAUVOLA = 2
SAUVOLA_WINDOW = 0.33  # inches, at the 70 dpi Tesseract assumes for our images
# Tesseract's language code for the script a line's letters are mostly in.
SCRIPT_TESSERACT = {"ARABIC": "fas", "LATIN": "eng"}
CROP_PADDING = 6
MIXED_KEEP_LETTERS = 0.8
WORD_MIN_CONFIDENCE = 45.0
LINE_MIN_CONFIDENCE = 65.0
MIN_LINE_LETTERS = 2
ROW_GAP_HEIGHTS = 1.5
# Seconds one batch may take before the process is abandoned (a hung Tesseract).
BATCH_TIMEOUT_S = 300.0
# Bidi controls some engines put around right-to-left words: never part of the text.
_BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"))


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One line Tesseract read: spelled for matching, with its mean word confidence (0-100)
    and box (left, top, right, bottom) in the image's pixels."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    dropped: int = 0  # words left out for low confidence


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    confidence: float
    left: int
    top: int
    right: int
    bottom: int


class TesseractEngine:
    """Reads batches of grayscale images; `submit` runs a batch in the background."""

    def __init__(
        self,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        *,
        binary: str | Path = "tesseract",
        workers: int | None = None,
        tessdata_dir: Path | None = None,
    ) -> None:
        self.languages = tuple(languages)
        self.binary = str(binary)
        self.workers = max(1, workers if workers is not None else min(2, os.cpu_count() or 1))
        self.tessdata_dir = tessdata_dir
        self._path: str | None = None
        self._version: str | None = None
        self._pool: ThreadPoolExecutor | None = None

    @property
    def version(self) -> str:
        """Tesseract's version and a digest of the language files' sizes: a new model
        (tessdata_best instead of the packaged fast one) reads differently."""
        self.load()
        assert self._version is not None
        return self._version

    def load(self) -> None:
        """Find the binary and its language data now; ModelError names what is missing."""
        if self._path is not None:
            return
        path = shutil.which(self.binary)
        if path is None:
            raise ModelError(f"OCR: the program {self.binary!r} is not installed: {APT_LINE}")
        version = self._run_quietly([path, "--version"])
        number = version.split()[1] if len(version.split()) > 1 else "unknown"
        listed = self._run_quietly([path, "--list-langs", *self._data_args()])
        available = {line.strip() for line in listed.splitlines()[1:]}
        missing = [language for language in self.languages if language not in available]
        if missing:
            raise ModelError(
                f"OCR: Tesseract has no language data for {', '.join(missing)}: {APT_LINE}"
            )
        self._version = f"{number}-{_data_digest(listed, self.languages)}"
        self._path = path

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def submit(
        self, images: Sequence[np.ndarray], mode: int, *, halve_empty: bool = False
    ) -> Future[list[list[OcrLine]]]:
        """`read` in the background (at most `workers` batches at once)."""
        self.load()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tesseract")
        return self._pool.submit(self.read, list(images), mode, halve_empty=halve_empty)

    def read(
        self, images: Sequence[np.ndarray], mode: int = AUTO_LAYOUT, *, halve_empty: bool = False
    ) -> list[list[OcrLine]]:
        """Lines read on each image (2-D uint8 grayscale), one list per image: one Tesseract
        process for the batch, another for doubtful lines (see `_reread_doubtful`).

        `halve_empty`: read the images on which nothing was read again at half size. Large
        text (letters over ~60 px, a title at 2x) is lost by the local threshold, whose
        window is smaller than its strokes; at half size it is read (measured on the generated
        signs: CER en 0.10 -> 0.04, fa 0.30 -> 0.14, lines found 90 -> 97%, 63 -> 80%).
        """
        pages = self._read_batch(images, mode)
        empty = [i for i, lines in enumerate(pages) if not lines] if halve_empty else []
        if empty:
            again = self._read_batch([_halved(images[i]) for i in empty], mode)
            for i, lines in zip(empty, again, strict=True):
                pages[i] = [replace(line, box=_doubled(line.box)) for line in lines]
        return pages

    def _read_batch(self, images: Sequence[np.ndarray], mode: int) -> list[list[OcrLine]]:
        pages = self._run(images, mode, self.languages)
        if len(self.languages) > 1:
            self._reread_doubtful(images, pages)
        return pages

    def _reread_doubtful(self, images: Sequence[np.ndarray], pages: list[list[OcrLine]]) -> None:
        """With eng+fas, Tesseract sometimes reads a Persian word as Latin garbage ("Oop" in
        a Persian line) or the reverse, or reads it with too little confidence to keep. Such
        a line is read again, cropped, in the language of most of its letters alone; the
        new reading replaces it when it keeps more letters, or as many more confidently."""
        crops, places = [], []
        for i, lines in enumerate(pages):
            for j, line in enumerate(lines):
                language = _doubtful_line_language(line)
                if language in self.languages:
                    crops.append(_crop(images[i], line.box))
                    places.append((i, j, language))
        for language in sorted({place[2] for place in places}):
            chosen = [k for k, place in enumerate(places) if place[2] == language]
            again = self._run([crops[k] for k in chosen], SINGLE_LINE, (language,))
            for k, lines in zip(chosen, again, strict=True):
                i, j, _ = places[k]
                if lines and _better(lines[0], pages[i][j]):
                    pages[i][j] = OcrLine(lines[0].text, lines[0].confidence, pages[i][j].box)

    def _run(
        self, images: Sequence[np.ndarray], mode: int, languages: Sequence[str]
    ) -> list[list[OcrLine]]:
        self.load()
        if not images:
            return []
        with tempfile.TemporaryDirectory(prefix="vidsearch-ocr-") as folder:
            names = []
            for i, image in enumerate(images):
                name = os.path.join(folder, f"{i}.pgm")
                _write_pgm(name, image)
                names.append(name)
            listing = os.path.join(folder, "images.txt")
            with open(listing, "w", encoding="utf-8") as handle:
                handle.write("\n".join(names) + "\n")
            command = [self._path or self.binary, listing, "stdout", *self._data_args()]
            command += ["-l", "+".join(languages), "--psm", str(mode)]
            command += ["-c", f"thresholding_method={SAUVOLA}"]
            command += ["-c", f"thresholding_window_size={SAUVOLA_WINDOW}", "tsv"]
            env = dict(os.environ, OMP_THREAD_LIMIT="1")
            try:
                done = subprocess.run(
                    command, capture_output=True, env=env, timeout=BATCH_TIMEOUT_S, check=False
                )
            except subprocess.TimeoutExpired:
                raise ModelError(f"OCR: Tesseract took over {BATCH_TIMEOUT_S:.0f} s") from None
            except OSError as exc:
                raise ModelError(f"OCR: cannot run Tesseract: {exc.strerror}") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ModelError(
                f"OCR: Tesseract failed: {message[-1] if message else done.returncode}"
            )
        return parse_tsv(done.stdout.decode("utf-8", "replace"), len(images))

    def _data_args(self) -> list[str]:
        return ["--tessdata-dir", str(self.tessdata_dir)] if self.tessdata_dir else []

    def _run_quietly(self, command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ModelError(f"OCR: cannot run {command[0]}: {exc}; {APT_LINE}") from None
        # Tesseract 5 prints its version and language list on stdout, 4 on stderr.
        return (done.stdout or done.stderr).decode("utf-8", "replace")


def parse_tsv(tsv: str, pages: int) -> list[list[OcrLine]]:
    """Tesseract's TSV (one page per image of the list) as lines per image, filtered by
    confidence and put in reading order."""
    lines: dict[tuple[int, int, int, int], list[_Word]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        text = cells[11].translate(_BIDI_MARKS).strip()
        confidence = float(cells[10])
        if not any(c.isalnum() for c in text):
            continue
        left, top, width, height = (int(v) for v in cells[6:10])
        key = (int(cells[1]), int(cells[2]), int(cells[3]), int(cells[4]))
        lines.setdefault(key, []).append(
            _Word(text, confidence, left, top, left + width, top + height)
        )
    rows: dict[int, list[list[_Word]]] = {}
    for (page, *_), words in lines.items():
        rows.setdefault(page, []).append(words)
    result: list[list[OcrLine]] = [[] for _ in range(pages)]
    for page, page_lines in rows.items():
        if 1 <= page <= pages:
            joined = (_line(fragments) for fragments in _join_rows(page_lines))
            result[page - 1] = [line for line in joined if line is not None]
    return result


def _join_rows(lines: list[list[_Word]]) -> list[list[list[_Word]]]:
    """Lines that continue each other on one row (Tesseract makes a block of each word of a
    sign now and then), as the fragments of one row: joined when they overlap vertically by
    most of their height and the gap between them is under ROW_GAP_HEIGHTS of their height."""
    rows: list[list[list[_Word]]] = []
    for words in sorted(lines, key=lambda ws: min(w.left for w in ws)):
        for row in rows:
            if _continues([w for fragment in row for w in fragment], words):
                row.append(words)
                break
        else:
            rows.append([words])
    return rows


def _continues(row: list[_Word], words: list[_Word]) -> bool:
    top, bottom = min(w.top for w in row), max(w.bottom for w in row)
    w_top, w_bottom = min(w.top for w in words), max(w.bottom for w in words)
    height = min(bottom - top, w_bottom - w_top)
    overlap = min(bottom, w_bottom) - max(top, w_top)
    gap = min(w.left for w in words) - max(w.right for w in row)
    return height > 0 and overlap >= 0.6 * height and gap <= ROW_GAP_HEIGHTS * height


def _line(fragments: list[list[_Word]]) -> OcrLine | None:
    """One row's text: its fragments (Tesseract's lines) in reading order by their boxes, the
    words of each in Tesseract's order (logical order: single word boxes can be wrong, e.g.
    one box spanning three Persian words was seen)."""
    rtl = detect_language(" ".join(w.text for ws in fragments for w in ws)) == PERSIAN
    fragments = sorted(
        fragments, key=lambda ws: -max(w.right for w in ws) if rtl else min(w.left for w in ws)
    )
    every = [w for fragment in fragments for w in fragment]
    words = [w for w in every if w.confidence >= WORD_MIN_CONFIDENCE]
    if not rtl:  # a lone Persian digit in a Latin line is a frame's or box's edge: "۱"
        words = [w for w in words if not (len(w.text) == 1 and "\u06f0" <= w.text <= "\u06f9")]
    if not words:
        return None
    text = words_spelling(" ".join(w.text for w in words))
    confidence = sum(w.confidence for w in words) / len(words)
    if confidence < LINE_MIN_CONFIDENCE or sum(c.isalpha() for c in text) < MIN_LINE_LETTERS:
        return None
    box = (
        min(w.left for w in every),
        min(w.top for w in every),
        max(w.right for w in every),
        max(w.bottom for w in every),
    )
    return OcrLine(text, confidence, box, dropped=len(every) - len(words))


def _write_pgm(path: str, image: np.ndarray) -> None:
    """Binary PGM: no encoding cost (PNG compression would cost more than reading the file)."""
    gray = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = gray.shape
    with open(path, "wb") as handle:
        handle.write(f"P5 {width} {height} 255\n".encode("ascii"))
        handle.write(gray.tobytes())


def _doubtful_line_language(line: OcrLine) -> str | None:
    """The Tesseract language of most of a line's letters when it mixes Latin and Arabic
    script or lost words to low confidence, else None."""
    scripts = letter_scripts(line.text)
    if not (scripts["ARABIC"] and scripts["LATIN"]) and not line.dropped:
        return None
    return SCRIPT_TESSERACT["ARABIC" if scripts["ARABIC"] >= scripts["LATIN"] else "LATIN"]


def _better(new: OcrLine, old: OcrLine) -> bool:
    """Whether a one-language re-reading should replace a doubtful line: for a line that
    mixed scripts, when it keeps most of the letters (the other script's "words" were
    garbage: "Seed" for «نیست»); otherwise when it has more letters, or as many with more
    confidence."""
    letters_new = sum(c.isalpha() for c in new.text)
    letters_old = sum(c.isalpha() for c in old.text)
    scripts = letter_scripts(old.text)
    if scripts["ARABIC"] and scripts["LATIN"]:
        return letters_new >= MIXED_KEEP_LETTERS * letters_old
    if letters_new != letters_old:
        return letters_new > letters_old
    return new.confidence > old.confidence


def _data_digest(listing: str, languages: Sequence[str]) -> str:
    """8 hex digits from the sizes of the languages' .traineddata files, in the folder
    `--list-langs` names on its first line ('... in "/usr/share/tesseract-ocr/5/tessdata/"')."""
    first = listing.splitlines()[0] if listing else ""
    folder = Path(first.split('"')[1]) if first.count('"') >= 2 else None
    sizes = []
    for language in languages:
        data = folder / f"{language}.traineddata" if folder else None
        sizes.append(str(data.stat().st_size) if data and data.is_file() else "?")
    return hashlib.sha256(",".join(sizes).encode()).hexdigest()[:8]


def _halved(image: np.ndarray) -> np.ndarray:
    """Half the size, each pixel the mean of a 2x2 block."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    blocks = image[:h, :w].astype(np.uint16)
    total = blocks[0::2, 0::2] + blocks[1::2, 0::2] + blocks[0::2, 1::2] + blocks[1::2, 1::2]
    return (total // 4).astype(np.uint8)


def _doubled(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return 2 * left, 2 * top, 2 * right, 2 * bottom


def _crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    left, top, right, bottom = box
    h, w = image.shape[:2]
    pad = CROP_PADDING
    return image[max(0, top - pad) : min(h, bottom + pad), max(0, left - pad) : min(w, right + pad)]
