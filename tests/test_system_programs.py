"""require_program: the path when the program is on PATH; a skip with the install line when it
is not; a failure with the same line when VIDSEARCH_REQUIRE_SYSTEM_PROGRAMS=1 (CI)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from system_programs import (
    PROGRAMS,
    REQUIRE_VARIABLE,
    report_header,
    require_fonts,
    require_program,
)

FAKE = "vidsearch-no-such-program"


@pytest.fixture()
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one empty directory: nothing is installed but what a test puts there."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_an_installed_program_gives_its_path(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = bin_dir / FAKE
    program.write_text("#!/bin/sh\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(REQUIRE_VARIABLE, "1")
    assert require_program(FAKE, "fake-package") == str(program)


def test_a_missing_program_skips_with_the_install_line(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REQUIRE_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_program(FAKE, "fake-package")
    assert str(skipped.value) == f"{FAKE} is not installed: sudo apt-get install fake-package"


def test_a_missing_program_fails_when_required(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REQUIRE_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_program(FAKE, "fake-package")
    assert f"{FAKE} is not installed: sudo apt-get install fake-package" in str(failed.value)
    assert REQUIRE_VARIABLE in str(failed.value)


@pytest.mark.parametrize("value", ["", "0"])
def test_only_the_value_1_requires(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(REQUIRE_VARIABLE, value)
    with pytest.raises(pytest.skip.Exception):
        require_program(FAKE, "fake-package")


def test_the_header_names_what_is_missing(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_VARIABLE, raising=False)
    assert report_header() == (
        "system programs: chromium, prometheus, promtool, tesseract, espeak-ng missing, their "
        "tests skip (sudo apt-get install chromium prometheus tesseract-ocr tesseract-ocr-eng "
        "tesseract-ocr-fas espeak-ng)"
    )
    monkeypatch.setenv(REQUIRE_VARIABLE, "1")
    assert "their tests fail" in report_header()
    for name in PROGRAMS:
        program = bin_dir / name
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    assert report_header() == (
        "system programs: chromium, prometheus, promtool, tesseract, espeak-ng found"
    )


def test_missing_fonts_skip_with_their_packages_and_fail_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vidsearch.testing.screen_text as screen_text

    monkeypatch.setattr(screen_text, "ENGLISH_FONTS", (tmp_path / "NotoSans-Regular.ttf",))
    monkeypatch.delenv(REQUIRE_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="sudo apt-get install fonts-noto-core"):
        require_fonts()
    monkeypatch.setenv(REQUIRE_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match="NotoSans-Regular.ttf"):
        require_fonts()
