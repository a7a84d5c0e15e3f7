"""System programs some tests drive (Chromium, Prometheus, Tesseract, espeak-ng), found on
PATH or the test stops.

A developer's machine may lack them: the test skips, saying what is missing and the line that
installs it. CI must never skip them silently: `.ci/run` installs the packages and sets
VIDSEARCH_REQUIRE_SYSTEM_PROGRAMS=1, which turns the same skip into a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_VARIABLE = "VIDSEARCH_REQUIRE_SYSTEM_PROGRAMS"
# The programs the tests use -> the Debian package that brings each (shown in pytest's header).
PROGRAMS = {
    "chromium": "chromium",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "tesseract": "tesseract-ocr tesseract-ocr-eng tesseract-ocr-fas",
    "espeak-ng": "espeak-ng",
}


def require_program(name: str, apt_package: str) -> str:
    """The path of the program `name` on PATH; skip the test (fail it under CI) if absent."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} is not installed: sudo apt-get install {apt_package}"
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE}=1 requires it)", pytrace=False)
    pytest.skip(reason)


# The fonts the on-screen text tests draw English and Persian with (vidsearch.testing.screen_text).
FONTS_PACKAGES = "fonts-noto-core fonts-farsiweb"


def require_fonts() -> None:
    """Skip the test (fail it under CI) unless the fonts it draws text with are installed."""
    from vidsearch.testing.screen_text import ENGLISH_FONTS, PERSIAN_FONTS

    missing = [path.name for path in (*ENGLISH_FONTS, *PERSIAN_FONTS) if not path.is_file()]
    if not missing:
        return
    reason = f"fonts {', '.join(missing)} are not installed: sudo apt-get install {FONTS_PACKAGES}"
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE}=1 requires them)", pytrace=False)
    pytest.skip(reason)


def report_header() -> str:
    """One line for pytest's header: which programs are missing and what that means."""
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if not missing:
        return f"system programs: {', '.join(PROGRAMS)} found"
    packages = " ".join(dict.fromkeys(PROGRAMS[name] for name in missing))
    outcome = "fail" if os.environ.get(REQUIRE_VARIABLE) == "1" else "skip"
    return (
        f"system programs: {', '.join(missing)} missing, their tests {outcome} "
        f"(sudo apt-get install {packages})"
    )
