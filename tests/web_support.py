"""Helpers for the web page tests in headless Chromium: a page to drive, screenshots, what
the page logs, where glyphs land on screen, and what sticks out of a narrow screen."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from playwright import sync_api

from system_programs import require_program

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
TIMEOUT_MS = 30_000

# Screenshots go to the test's temporary folder; set this to a folder (docs/screenshots) to
# keep them: VIDSEARCH_SCREENSHOTS=docs/screenshots pytest tests/test_web_page.py
SCREENSHOTS_VARIABLE = "VIDSEARCH_SCREENSHOTS"
NARROW = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# [character, left edge in px] of every character of an element's text, in DOM order.
GLYPHS_JS = """element => {
  const out = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (box.width > 0) out.push([node.data[i], box.left + box.width / 2]);
    }
  }
  return out;
}"""

# Every visible element whose box leaves [0, width], as "tag#id.class: left..right".
OVERFLOW_JS = """width => [...document.querySelectorAll('body *')].flatMap(e => {
  const box = e.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return [];
  if (getComputedStyle(e).visibility === 'hidden') return [];
  if (box.left >= -0.5 && box.right <= width + 0.5) return [];
  const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '');
  return [`${name}: ${Math.round(box.left)}..${Math.round(box.right)}`];
})"""


@contextlib.contextmanager
def page_at(url: str) -> Iterator[tuple[sync_api.Page, list[str]]]:
    """The web page of the server at `url` in a fresh headless Chromium (skipped, or failed
    under CI, without it), and the script errors it raises; the browser closes on exit."""
    chromium = require_program("chromium", "chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=url)
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto("/")
            yield page, errors
        finally:
            browser.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where this run keeps its screenshots (see SCREENSHOTS_VARIABLE)."""
    chosen = os.environ.get(SCREENSHOTS_VARIABLE)
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def visual_order(glyphs: list[list[object]]) -> str:
    """The characters as they appear on screen, left to right (one line of text)."""
    return "".join(str(c) for c, _ in sorted(glyphs, key=lambda g: float(g[1])))  # type: ignore[arg-type]


# Records every position the player reports from now on (window.positions): the first one
# says where playing really began, before any later seek could correct it.
RECORD_POSITIONS_JS = """() => {
  window.positions = [];
  const player = document.getElementById('player');
  player.addEventListener('timeupdate', () => window.positions.push(player.currentTime));
}"""
