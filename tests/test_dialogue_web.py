"""The web page shows the matching subtitle line under the thumbnail (headless Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright import sync_api

from service_support import index_video, live_server
from system_programs import require_program
from test_subtitles import srt_of, write_mkv_with_subtitles
from test_web import CHROMIUM_ARGS, TIMEOUT_MS
from vidsearch.testing.server import LiveServer

pytestmark = pytest.mark.slow
LINE = "Meet me at the old bridge at noon."


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_sentence_model: Path
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("dialogue-web")
    srt = folder / "source.srt"
    srt.write_text(srt_of((0.5, 1.5, LINE), (2.2, 3.5, "من می‌خواهم برگردم")))
    movie = folder / "movie.mkv"
    write_mkv_with_subtitles(movie, srt, "eng")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIDSEARCH_DIALOGUE_MODEL", str(tiny_sentence_model))
        live = live_server(folder / "home", tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            index_video(http, movie)
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_program("chromium", "chromium")


def test_the_line_is_shown_under_the_thumbnail(chromium: str, server: LiveServer) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=server.url)
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/")
        page.fill("#q", '"old bridge"')
        page.select_option("#mode", "dialogue")
        page.press("#q", "Enter")
        page.wait_for_selector("#results .moment .line:not([hidden])")
        card = page.locator("#results .moment").first
        assert card.locator(".line").text_content() == LINE
        assert card.get_attribute("data-why") == "dialogue"
        assert card.locator(".why").text_content() == "dialogue"
        # the line sits between the thumbnail and the card's details
        order = card.evaluate("c => [...c.children].map(e => e.className || e.tagName)")
        assert order[:2] == ["IMG", "line"]

        page.select_option("#mode", "visual")
        page.press("#q", "Enter")
        page.wait_for_function(
            "() => document.querySelector('#results .moment')?.dataset.why === 'frame'"
        )
        assert page.locator("#results .moment .line:not([hidden])").count() == 0
        browser.close()
        assert errors == []
