"""The web page in headless Chromium, as a new user meets it: search by a picture (picked,
dropped or pasted), each result's best frame time and playing from it, the library view with
delete, a 390 px screen, the icon, and a Persian query between its « » marks."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest
from playwright import sync_api

from service_support import API_KEY, index_video, serving
from system_programs import require_program
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video
from web_support import (
    CHROMIUM_ARGS,
    DESKTOP,
    GLYPHS_JS,
    NARROW,
    OVERFLOW_JS,
    RECORD_POSITIONS_JS,
    TIMEOUT_MS,
    screenshot_dir,
    visual_order,
)

pytestmark = pytest.mark.slow
PERSIAN = "مردی که در ساحل می‌دود"
ICO_MAGIC = b"\x00\x00\x01\x00"
ZWNJ = "\u200c"
PICTURE_AT = 2.0  # seconds: inside the first shot (0-3 s), a sampled frame (every 2 s)

# Drops or pastes a picture built from base64 bytes, as a file manager or the clipboard would.
TRANSFER_JS = """([kind, data, name]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: 'image/jpeg' }));
  const target = document.getElementById('q');
  if (kind === 'paste') {
    target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true }));
  } else {
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true,
                                                 cancelable: true }));
    }
  }
}"""


def clock(seconds: float) -> str:
    """The page's m:ss.s (videos here are shorter than an hour)."""
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_multilingual: Path,
    standard_video: tuple[Path, list[SceneSpan]],
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("web-page") / "home"
    with serving(home, tiny_multilingual, standard_video[0]) as live:
        yield live


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    chromium = require_program("chromium", "chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Opened:
    """A page and what went wrong on it: script errors, console errors, failed requests."""

    def __init__(self, browser: sync_api.Browser, server: LiveServer, viewport: dict) -> None:
        self.context = browser.new_context(base_url=server.url, viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"script: {exc}"))
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.on(
            "response",
            lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        self.page.goto("/")
        self.page.wait_for_function(
            "() => document.getElementById('library-status').textContent !== ''"
        )


@pytest.fixture()
def opened(browser: sync_api.Browser, server: LiveServer) -> Iterator[Opened]:
    opened = Opened(browser, server, DESKTOP)
    yield opened
    opened.context.close()


@pytest.fixture()
def page(opened: Opened) -> Iterator[sync_api.Page]:
    yield opened.page
    assert opened.problems == []


def frame_picture(video: Path, seconds: float, path: Path) -> Path:
    """The video's frame at `seconds`, saved as a picture to search by."""
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds - 1e-3:
                frame.to_image().save(path)
                return path
    raise AssertionError(f"{video} has no frame at {seconds}s")


@pytest.fixture(scope="module")
def picture(
    standard_video: tuple[Path, list[SceneSpan]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A frame of the second textured stretch (2 s into the first shot, 0-3 s)."""
    folder = tmp_path_factory.mktemp("pictures")
    return frame_picture(standard_video[0], PICTURE_AT, folder / "frame.png")


def text_search(page: sync_api.Page, query: str, mode: str = "") -> None:
    page.select_option("#mode", mode)
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_selector("#results .moment")


def wait_status(page: sync_api.Page, fragment: str) -> str:
    page.wait_for_function(
        "f => document.getElementById('status').textContent.includes(f)", arg=fragment
    )
    return page.text_content("#status") or ""


# -- the icon, and a load without a single error -------------------------------------------
def test_favicon_answers_and_the_page_loads_without_errors(
    opened: Opened, http: httpx.Client
) -> None:
    icon = http.get("/favicon.ico")
    assert icon.status_code == 200, icon.text  # the seed route answered 422
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content.startswith(ICO_MAGIC)
    page = opened.page
    linked = page.eval_on_selector("link[rel=icon]", "l => l.href")
    svg = http.get(linked)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => fetch('/favicon.ico').then(r => r.status)") == 200
    assert opened.problems == []


# -- search by picture ----------------------------------------------------------------------
def test_search_by_a_picked_dropped_or_pasted_picture(
    page: sync_api.Page, picture: Path, tmp_path: Path
) -> None:
    with page.expect_request(lambda r: r.method == "POST" and "/search" in r.url) as sent:
        page.set_input_files("#image-file", str(picture))
    assert sent.value.headers["content-type"].startswith("multipart/form-data")
    status = wait_status(page, "«frame.png»")
    assert " moments like «frame.png»" in status
    page.wait_for_selector("#results .moment")
    assert page.is_visible("#image-query") and page.text_content("#image-name") == "frame.png"
    first = page.locator("#results .moment").first
    assert first.locator(".video").text_content() == "standard.mp4"
    start, end = (float(first.get_attribute(f"data-{k}") or "nan") for k in ("start", "end"))
    assert start <= PICTURE_AT <= end  # the picture's own shot comes first
    page.screenshot(path=screenshot_dir(tmp_path) / "picture-search.png")

    data = base64.b64encode(picture.read_bytes()).decode("ascii")
    for kind, name in (("drop", "dropped.jpg"), ("paste", "pasted.jpg")):
        page.evaluate(TRANSFER_JS, [kind, data, name])
        wait_status(page, f"like «{name}»")
        page.wait_for_selector("#results .moment")
        assert page.text_content("#image-name") == name

    text_search(page, "a textured scene")
    assert page.is_hidden("#image-query")
    assert "moments for «a textured scene»" in (page.text_content("#status") or "")


# -- results: the best frame's time, and playing from it -----------------------------------
def test_results_show_the_best_frame_time(
    page: sync_api.Page, http: httpx.Client, tmp_path: Path
) -> None:
    text_search(page, "a textured scene", "visual")
    api = http.get("/search", params={"q": "a textured scene", "mode": "visual", "top_k": 12})
    moments = api.json()["moments"]
    shown = page.locator("#results .moment .at").all_text_contents()
    assert shown == [f"frame {clock(m['timestamp'])}" for m in moments]
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every(i => i.complete)"
    )
    page.screenshot(path=screenshot_dir(tmp_path) / "desktop-results.png")


def test_a_moment_plays_from_its_best_frame(
    page: sync_api.Page, picture: Path, tmp_path: Path
) -> None:
    page.set_input_files("#image-file", str(picture))
    page.wait_for_selector("#results .moment")
    card = page.locator("#results .moment").first
    # the picture is a frame 2 s into its shot: the moment starts at 0, its best frame at 2
    assert card.get_attribute("data-start") == "0"
    assert card.locator(".at").text_content() == f"frame {clock(PICTURE_AT)}"
    page.evaluate(RECORD_POSITIONS_JS)
    card.click()
    page.wait_for_function("() => window.positions.length > 0")
    first = page.evaluate("() => window.positions[0]")  # not 0:00, then a seek
    assert first == pytest.approx(PICTURE_AT, abs=0.3)
    assert page.eval_on_selector("#player", "v => v.src").endswith(f"#t={PICTURE_AT:.3f}")
    assert f"from {clock(PICTURE_AT)}" in (page.text_content("#now-playing") or "")
    page.screenshot(path=screenshot_dir(tmp_path) / "desktop-playing.png")


# -- the library ----------------------------------------------------------------------------
def test_library_lists_the_videos_and_deletes_with_the_key(
    opened: Opened, http: httpx.Client, tmp_path: Path
) -> None:
    page = opened.page
    clip = tmp_path / "short-lived.mp4"
    write_video(clip, [Scene(SceneKind.TEXTURE, 25 * 4, color=2)], seed=7)
    index_video(http, clip)
    page.click("#library-refresh")
    row = page.locator("#library .video-row[data-name='short-lived.mp4']")
    row.wait_for()
    listed = {v["name"]: v for v in http.get("/videos").json()["videos"]}
    for name, video in listed.items():
        shown = page.locator(f"#library .video-row[data-name='{name}']")
        assert shown.locator(".name").text_content() == name
        assert shown.locator(".duration").text_content() == clock(video["duration"])
        assert shown.locator(".frames").text_content() == f"{video['frames']} frames"
        assert shown.locator(".state").text_content() == "complete"
        if "subtitle_lines" not in video:  # shown only where the server reports it
            assert shown.locator(".subtitles").is_hidden()
    assert f"{len(listed)} videos indexed." == page.text_content("#library-status")
    page.screenshot(path=screenshot_dir(tmp_path) / "library.png", full_page=True)

    def delete_twice() -> None:  # the first click only arms the button
        row.locator(".delete").click()
        assert row.locator(".delete").text_content() == "Delete for good?"
        row.locator(".delete").click()

    delete_twice()
    assert "needs the API key" in (page.text_content("#library-status") or "")
    page.fill("#api-key", "wrong")
    delete_twice()
    page.wait_for_function(
        "() => document.getElementById('library-status').textContent.startsWith('Not deleted')"
    )
    assert "wrong API key" in (page.text_content("#library-status") or "")
    assert http.get("/videos/short-lived.mp4").status_code == 200
    assert all(p.startswith("401 ") or "401" in p for p in opened.problems), opened.problems
    opened.problems.clear()  # the refused DELETE, logged as it should be

    page.fill("#api-key", API_KEY)
    delete_twice()
    row.wait_for(state="detached")
    assert page.text_content("#library-status") == "Deleted short-lived.mp4."
    assert http.get("/videos/short-lived.mp4").status_code == 404
    assert page.locator("#library .video-row[data-name='standard.mp4']").count() == 1
    assert opened.problems == []


def test_library_shows_subtitle_counts_the_server_reports(page: sync_api.Page) -> None:
    def with_counts(route: sync_api.Route) -> None:
        listed = route.fetch().json()
        for i, video in enumerate(listed["videos"]):
            video["subtitle_lines"] = 3 * i
        listed["videos"].append({**listed["videos"][0], "name": "talk.mkv", "subtitle_lines": 1})
        route.fulfill(json=listed)

    page.route("**/videos", with_counts)
    page.click("#library-refresh")
    page.wait_for_selector("#library .video-row[data-name='talk.mkv']")
    assert page.locator("#library .subtitles").all_text_contents()[0] == "no text"
    talk = page.locator("#library .video-row[data-name='talk.mkv'] .subtitles")
    assert talk.is_visible() and talk.text_content() == "1 line of text"


# -- a phone-sized screen -------------------------------------------------------------------
def test_nothing_overflows_390_px(
    browser: sync_api.Browser, server: LiveServer, picture: Path, tmp_path: Path
) -> None:
    opened = Opened(browser, server, NARROW)
    page = opened.page
    long_name = tmp_path / "holiday-at-the-seaside-with-the-whole-family-2024-07-15-part-2.mp4"
    long_name.write_bytes(b"not uploaded")
    page.set_input_files("#file", str(long_name))  # the file input ran past the edge
    page.fill("#api-key", "some key")
    page.set_input_files("#image-file", str(picture))
    page.wait_for_selector("#results .moment img")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every(i => i.complete)"
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= NARROW["width"]
    assert page.evaluate(OVERFLOW_JS, NARROW["width"]) == []
    page.screenshot(path=screenshot_dir(tmp_path) / "narrow-picture-search.png", full_page=True)

    text_search(page, PERSIAN)
    wait_status(page, PERSIAN)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= NARROW["width"]
    assert page.evaluate(OVERFLOW_JS, NARROW["width"]) == []
    page.screenshot(path=screenshot_dir(tmp_path) / "narrow-persian.png")
    assert opened.problems == []
    opened.context.close()


# -- a Persian query between its « » marks ---------------------------------------------------
@pytest.mark.parametrize("query", [PERSIAN, f"«{PERSIAN}»", f"2 {PERSIAN} beach"])
def test_a_persian_query_sits_between_its_quote_marks(
    page: sync_api.Page, query: str, tmp_path: Path
) -> None:
    text_search(page, query)
    status = wait_status(page, query)
    assert f"for «{query}» (" in status  # the DOM order
    page.evaluate("() => document.fonts.ready.then(() => true)")  # measured once laid out
    glyphs = page.eval_on_selector("#status", GLYPHS_JS)
    texts = [str(c) for c, _ in glyphs]
    opening = texts.index("«")  # the status's own marks: the first « and the last »
    closing = len(texts) - 1 - texts[::-1].index("»")
    assert "".join(texts[opening + 1 : closing]) == query.replace(ZWNJ, "")  # has no width
    inside = [float(x) for _, x in glyphs[opening + 1 : closing]]
    # on screen: « left of the whole query, » right of it, in the English sentence's order
    assert float(glyphs[opening][1]) < min(inside) < max(inside) < float(glyphs[closing][1])
    line = visual_order(glyphs)
    assert line.startswith(status.split("«")[0] + "«")
    assert page.eval_on_selector("#status", "s => s.matches(':dir(ltr)')")
    if query == PERSIAN:
        page.screenshot(path=screenshot_dir(tmp_path) / "desktop-persian.png")


def test_the_status_keeps_reading_order_after_a_picture(page: sync_api.Page, picture: Path) -> None:
    """An image search, then a Persian one: the words around the query stay English."""
    page.set_input_files("#image-file", str(picture))
    wait_status(page, "like «frame.png»")
    text_search(page, PERSIAN)
    status = wait_status(page, PERSIAN)
    assert status.count("«") == 1
    assert " for «" in status and " like " not in status
