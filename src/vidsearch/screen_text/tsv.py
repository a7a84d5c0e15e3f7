"""Tesseract's TSV output as lines of text: confident words, in reading order, spelled as
queries are.

Words below WORD_MIN_CONFIDENCE and lines below LINE_MIN_CONFIDENCE are dropped (noise and
textures read as strings of short "words"). Tesseract's LSTM engine writes right-to-left
text in logical order, words within a line included (its word boxes are not reliable enough
to reorder by); lines that Tesseract split on one row are put in reading order by their
boxes, right to left for Persian. Persian lines are spelled the way queries are
(`vidsearch.text.spelling`), so a query typed on any Persian keyboard matches them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidsearch.text.language import PERSIAN, detect_language
from vidsearch.text.spelling import words_spelling

WORD_MIN_CONFIDENCE = 45.0
LINE_MIN_CONFIDENCE = 65.0
MIN_LINE_LETTERS = 2
ROW_GAP_HEIGHTS = 1.5
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
