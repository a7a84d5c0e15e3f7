"""The Persian normaliser and script-based language detection, on real Persian phrases."""

from __future__ import annotations

import time

import pytest

from vidsearch.text import UNDETERMINED, detect_language, language_name, normalize_persian

ZWNJ = "\u200c"


@pytest.mark.parametrize(
    "variants",
    [
        # the verb prefix: half space, space, joined
        ["می\u200cخواهم", "می خواهم", "میخواهم"],
        ["نمی\u200cدانم", "نمی دانم", "نمیدانم"],
        # plurals
        ["کتاب\u200cها", "کتاب ها", "کتابها"],
        ["فیلم\u200cهای قدیمی", "فیلم های قدیمی", "فیلمهای قدیمی"],
        ["عکس\u200cهایم", "عکس هایم", "عکسهایم"],
        # superlative and the suffixes after a final heh
        ["بزرگ\u200cترین شهر", "بزرگ ترین شهر", "بزرگترین شهر"],
        ["رفته\u200cاند", "رفته اند", "رفتهاند"],
        ["خسته\u200cام", "خسته ام"],
        # the ezafe after heh, four spellings
        ["خانهٔ من", "خانۀ من", "خانه\u200cی من", "خانه ی من"],
        # Arabic letters typed on an Arabic keyboard
        ["یک ماشین کوچک", "يک ماشين کوچك", "يك ماشين كوچك"],
        # tashkeel and tatweel
        ["مدرسه", "مَدرَسِه", "مـــدرســه", "مُدَرِّسِه"],
        # digits: Persian, Arabic-Indic, ASCII
        ["۱۲۳ نفر", "١٢٣ نفر", "123 نفر"],
        # whitespace and invisible marks
        ["مردی در ساحل", "  مردی   در\u00a0ساحل\n", "مردی\u200f در ساحل\u200b"],
        # mixed with English
        ["ماشین BMW در خیابان", "ماشين BMW  در  خيابان"],
        # presentation forms (text copied from a PDF)
        ["کتاب", "ﻛﺘﺎﺏ"],
    ],
)
def test_spelling_variants_normalise_to_one_string(variants: list[str]) -> None:
    normalised = {normalize_persian(v) for v in variants}
    assert len(normalised) == 1, normalised


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("می\u200cخواهم فیلم ببینم", "میخواهم فیلم ببینم"),
        ("كتاب\u200cهاي علي", "کتابهای علی"),
        ("سال ۱۴۰۲ و ٢٠٢٣", "سال 1402 و 2023"),
        ("۳٫۵ درصد", "3.5 درصد"),
        ("٪۲۰ تخفیف", "%20 تخفیف"),
        ("تأثیر", "تاثیر"),
        ("مسؤول", "مسوول"),
        ("خانهٔ ما", "خانهی ما"),
        ("a man running on the beach", "a man running on the beach"),
        ("  ", ""),
    ],
)
def test_canonical_forms(text: str, expected: str) -> None:
    assert normalize_persian(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("میدان آزادی", "میدان آزادی"),  # a word starting with می is not a verb prefix
        ("میوه های تازه", "میوههای تازه"),  # ... nor here: only the plural joins
        ("لباس تر", "لباس تر"),  # تر as a word: "wet"
        ("ای خدا", "ای خدا"),  # ای as a word, not after heh
        ("red car ها", "red car ها"),  # no Persian letter before the plural
        ("می", "می"),  # the prefix alone, nothing to join
    ],
)
def test_words_that_look_like_affixes_are_left_alone(text: str, expected: str) -> None:
    assert normalize_persian(text) == expected


def test_no_zwnj_or_diacritic_survives() -> None:
    text = "می\u200cخواهم کتاب\u200cهای خوبِ فارسی را بخوانم\u200c"
    out = normalize_persian(text)
    assert ZWNJ not in out and "\u0650" not in out
    assert normalize_persian(out) == out  # idempotent


def test_fast_enough_for_every_query_and_caption() -> None:
    text = "من می\u200cخواهم فیلم\u200cهایی ببینم که مردی در ساحل هنگام غروب می دود ۱۲۳"
    started = time.perf_counter()
    for _ in range(2000):
        normalize_persian(text)
    per_call = (time.perf_counter() - started) / 2000
    assert per_call < 1e-3  # ~50 µs on a slow CPU; 1 ms leaves room for a loaded CI machine


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("مردی که در ساحل می\u200cدود", "fa"),
        ("يك ماشين", "fa"),  # Arabic letters: the Arabic script means Persian here
        ("ماشین BMW قرمز", "fa"),  # Persian with an English word
        ("a BMW ماشین", "fa"),  # any Persian word: a Persian-capable encoder reads both
        ("a man running on the beach", "en"),
        ("Eine Katze", "en"),  # Latin script: English unless told (search --lang de)
        ("собака на снегу", "ru"),
        ("雪の中の犬", "ja"),
        ("雪中的狗", "zh"),
        ("눈 속의 개", "ko"),
        ("۱۲۳", UNDETERMINED),
        ("123 !?", UNDETERMINED),
    ],
)
def test_detect_language_by_script(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_language_names_for_messages() -> None:
    assert language_name("fa") == "Persian (fa)"
    assert language_name("xx") == "xx"
