"""The web page shows the matching subtitle line under the thumbnail, and plays from the line
(headless Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from service_support import index_video, live_server
from test_subtitles import srt_of, write_mkv_with_subtitles
from vidsearch.testing.server import LiveServer
from web_support import RECORD_POSITIONS_JS, page_at

pytestmark = pytest.mark.slow
LINE = "Meet me at the old bridge at noon."
LATE_LINE = "The train leaves at nine sharp."
LATE_AT = 9.0  # seconds: in the one shot of a 12 s video, which starts at 0:00
FPS = 25


def write_one_shot_mkv(path: Path, srt: Path, seconds: int) -> None:
    """An MKV whose picture never cuts (one shot from 0:00) with the SubRip stream of `srt`."""
    with av.open(str(srt)) as source, av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        subtitles = out.add_stream_from_template(source.streams.subtitles[0])
        subtitles.metadata["language"] = "eng"
        ramp = np.linspace(40, 200, 64, dtype=np.uint8)
        for i in range(FPS * seconds):
            shade = np.roll(ramp, i % 64)  # a slow pan: no cut anywhere
            pixels = np.repeat(np.broadcast_to(shade, (64, 64))[..., None], 3, axis=2)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for packet in source.demux(source.streams.subtitles[0]):
            if packet.dts is not None:
                packet.stream = subtitles
                out.mux(packet)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_sentence_model: Path
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("dialogue-web")
    srt = folder / "source.srt"
    srt.write_text(srt_of((0.5, 1.5, LINE), (2.2, 3.5, "من می‌خواهم برگردم")))
    movie = folder / "movie.mkv"
    write_mkv_with_subtitles(movie, srt, "eng")
    late = folder / "late.srt"
    late.write_text(srt_of((LATE_AT, LATE_AT + 1.5, LATE_LINE)))
    talk = folder / "talk.mkv"
    write_one_shot_mkv(talk, late, seconds=12)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIDSEARCH_DIALOGUE_MODEL", str(tiny_sentence_model))
        live = live_server(folder / "home", tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            index_video(http, movie)
            index_video(http, talk)
        yield live
    finally:
        live.stop()


def test_the_line_is_shown_under_the_thumbnail(server: LiveServer) -> None:
    with page_at(server.url) as (page, errors):
        page.fill("#q", '"old bridge"')
        page.select_option("#mode", "dialogue")
        page.press("#q", "Enter")
        page.wait_for_selector("#results .moment .line:not([hidden])")
        card = page.locator("#results .moment").first
        assert card.locator(".line").text_content() == LINE
        assert card.get_attribute("data-why") == "subtitle"
        assert card.locator(".why").text_content() == "subtitle"
        assert card.locator(".lines li").first.get_attribute("data-source") == "subtitle"
        # the line sits between the thumbnail and the card's details
        order = card.evaluate("c => [...c.children].map(e => e.className || e.tagName)")
        assert order[:2] == ["IMG", "lines"]

        page.select_option("#mode", "visual")
        page.press("#q", "Enter")
        page.wait_for_function(
            "() => document.querySelector('#results .moment')?.dataset.why === 'frame'"
        )
        assert page.locator("#results .moment .line:not([hidden])").count() == 0
    assert errors == []


def test_a_dialogue_hit_plays_from_its_line(server: LiveServer) -> None:
    """A line spoken at 0:09 in a shot that starts at 0:00 plays from 0:09: the moment spans
    the whole shot, and the page used to seek to the moment's start."""
    with page_at(server.url) as (page, errors):
        page.fill("#q", '"train leaves"')
        page.select_option("#mode", "dialogue")
        page.press("#q", "Enter")
        page.wait_for_selector("#results .moment .line:not([hidden])")
        card = page.locator("#results .moment").first
        assert card.locator(".video").text_content() == "talk.mkv"
        assert card.locator(".line").text_content() == LATE_LINE
        assert float(card.get_attribute("data-start") or "nan") < LATE_AT - 5  # the shot's start
        page.evaluate(RECORD_POSITIONS_JS)
        card.click()
        page.wait_for_function("() => window.positions.length > 0")
        first = page.evaluate("() => window.positions[0]")  # not 0:00, then a seek
        assert first == pytest.approx(LATE_AT, abs=0.3)
        assert page.eval_on_selector("#player", "v => v.src").endswith(f"#t={LATE_AT:.3f}")
        assert "talk.mkv from 0:09.0" in (page.text_content("#now-playing") or "")
    assert errors == []


def test_the_video_list_says_how_many_lines_are_indexed(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        videos = {v["name"]: v for v in http.get("/videos").json()["videos"]}
        assert videos["movie.mkv"]["subtitle_lines"] == 2
        assert videos["talk.mkv"]["subtitle_lines"] == 1
        assert http.get("/videos/movie.mkv").json()["subtitle_lines"] == 2
