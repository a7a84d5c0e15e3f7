"""Tesseract, run as its own program: images in, lines of text with confidences out.

No Python binding: the `tesseract` binary is driven through a list file, so one process
reads a whole batch of images and pays its start-up (loading the eng and fas models, ~0.1 s
with both) once per batch instead of once per image. Each process gets OMP_THREAD_LIMIT=1:
Tesseract's OpenMP threads cost more than they give on small images (measured: a single
band image took 0.18 s with OpenMP on 2 cores, 0.11 s without), and `workers` processes run
side by side instead.

Its TSV output becomes lines in `tsv.py`. With two languages, doubtful lines (mixed scripts,
words dropped for low confidence) are read again in one language; optionally, images on
which nothing was read are read again at half size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from vidsearch.errors import ModelError
from vidsearch.screen_text.tsv import OcrLine, parse_tsv
from vidsearch.text.language import letter_scripts

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
# Seconds one batch may take before the process is abandoned (a hung Tesseract).
BATCH_TIMEOUT_S = 300.0


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
