"""The web page in headless Chromium (playwright driving Debian's chromium binary): search,
Persian input, results, playing a moment from its start, uploading with a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api

from service_support import API_KEY, serving
from system_programs import require_program
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video
from web_support import CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_multilingual: Path,
    standard_video: tuple[Path, list[SceneSpan]],
) -> Iterator[LiveServer]:
    """The tiny bundle reads English (CLIP) and Persian (a multilingual text model)."""
    home = tmp_path_factory.mktemp("web") / "home"
    with serving(home, tiny_multilingual, standard_video[0]) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium = require_program("chromium", "chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server: LiveServer) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    yield page
    context.close()
    assert errors == [], errors


def test_search_and_play_a_moment(page) -> None:  # type: ignore[no-untyped-def]
    page.fill("#q", "a textured scene")
    page.press("#q", "Enter")
    page.wait_for_selector("#results .moment")
    cards = page.locator("#results .moment")
    assert cards.count() >= 3
    assert "moments for «a textured scene»" in page.text_content("#status")
    assert page.text_content("#results .moment .video") == "standard.mp4"
    assert page.eval_on_selector("#results .moment img", "img => img.src").startswith("http")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every(i => i.naturalWidth > 0)"
    )

    # a moment that does not start at 0, so the position is really set; a moment plays
    # from its best frame (test_web_page.py shows one that does not start there)
    starts = [float(s) for s in cards.evaluate_all("cs => cs.map(c => c.dataset.playFrom)")]
    index = next(i for i, s in enumerate(starts) if s > 0)
    cards.nth(index).click()
    page.wait_for_function(
        "start => { const v = document.getElementById('player');"
        " return v.readyState >= 1 && Math.abs(v.currentTime - start) < 0.5; }",
        arg=starts[index],
    )
    current = page.eval_on_selector("#player", "v => v.currentTime")
    assert current == pytest.approx(starts[index], abs=0.5)
    assert page.is_visible("#player")
    src = page.eval_on_selector("#player", "v => v.src")
    assert src.split("#")[0].endswith("/videos/standard.mp4/stream")
    assert "standard.mp4 from" in page.text_content("#now-playing")

    # another moment of the same video seeks without reloading
    other = next(i for i, s in enumerate(starts) if abs(s - starts[index]) > 1)
    cards.nth(other).click()
    page.wait_for_function(
        "start => Math.abs(document.getElementById('player').currentTime - start) < 0.5",
        arg=starts[other],
    )


def test_persian_query_is_right_to_left(page) -> None:  # type: ignore[no-untyped-def]
    query = "مردی که در ساحل می‌دود"
    page.fill("#q", query)
    assert page.eval_on_selector("#q", "q => q.matches(':dir(rtl)')")
    assert page.eval_on_selector("#q", "q => getComputedStyle(q).textAlign") == "right"
    page.click("button[type=submit]")
    page.wait_for_selector("#results .moment")
    assert f"«{query}»" in page.text_content("#status")
    assert page.eval_on_selector("#status", "s => s.matches(':dir(rtl)')") is False  # mixed text
    page.fill("#q", "a dog")
    assert page.eval_on_selector("#q", "q => q.matches(':dir(ltr)')")


def test_server_errors_are_shown(page) -> None:  # type: ignore[no-untyped-def]
    page.eval_on_selector("#top-k", "s => { s.add(new Option('0', '0', true, true)); }")
    page.fill("#q", "a dog")
    page.press("#q", "Enter")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('Error')"
    )
    assert "top_k: Input should be greater than or equal to 1" in page.text_content("#status")
    assert page.locator("#results .moment").count() == 0


def test_upload_with_progress(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clip = tmp_path / "from-the-page.mp4"
    write_video(clip, [Scene(SceneKind.TEXTURE, 25 * 20, color=5)], seed=42)
    page.fill("#api-key", API_KEY)
    page.set_input_files("#file", str(clip))
    values: list[float] = []
    page.expose_function("recordProgress", lambda value: values.append(value))
    page.evaluate(
        "() => new MutationObserver(() => recordProgress(document.getElementById("
        "'upload-progress').value)).observe(document.getElementById('upload-progress'),"
        " {attributes: true})"
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('upload-progress').dataset.state === 'done'"
    )
    assert page.eval_on_selector("#upload-progress", "p => p.value") == 100
    assert len(values) >= 2 and values[-1] == 100 and all(0 <= v <= 100 for v in values)
    assert "Done: from-the-page.mp4 is searchable" in page.text_content("#upload-status")
    page.fill("#q", "texture")
    page.press("#q", "Enter")
    page.wait_for_selector("#results .moment")

    page.fill("#api-key", "wrong")
    page.set_input_files("#file", str(clip))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('upload-status').textContent.includes('refused')"
    )
    assert "wrong API key" in page.text_content("#upload-status")


def test_api_docs_render_offline(browser, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=server.url)
    outside: list[str] = []

    def only_local(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto("/docs")
    page.wait_for_selector(".opblock")
    summaries = page.locator(".opblock-summary-path").all_text_contents()
    paths = {s.replace("\u200b", "") for s in summaries}
    assert {
        "/search",
        "/videos",
        "/videos/{name}/stream",
        "/jobs/{job_id}",
        "/{video_name}/",
    } <= paths
    assert page.locator(".opblock-summary-method").count() >= 13
    assert outside == []  # every file came from the server itself
    context.close()
