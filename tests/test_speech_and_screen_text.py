"""End to end: one `vidsearch index` of a generated video that speaks English and Persian
(espeak-ng) and shows burned-in English and Persian subtitles and a sign (real fonts) reads
both with the real Silero VAD, a tiny offline Whisper and the real Tesseract, and each line is
then found by search with `why` naming its source, through the CLI, the HTTP API (the search
and the seed routes) and the web page (headless Chromium).

The tiny Whisper is fitted to this video's two recordings first
(`testing.tiny_whisper.fit_tiny_whisper`, ~30 s): it MEMORISES them, so that a spoken sentence
can be found by its words here; real transcription quality needs real weights (a network)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service_support import live_server
from system_programs import require_fonts, require_program
from vidsearch.cli import app
from vidsearch.testing.screen_text import BurnedLine
from vidsearch.testing.speech import Utterance
from vidsearch.testing.spoken_and_written import SpokenAndWritten, write_spoken_and_written_video
from web_support import page_at, screenshot_dir

pytestmark = pytest.mark.slow

SPOKEN = [  # sentences the tiny Whisper's tokenizer was built on (tiny_whisper.CORPUS)
    Utterance("a man running on the beach at sunset", "en", 1.0),
    Utterance("مردی هنگام غروب در ساحل می‌دود", "fa", 9.0),
]
WRITTEN = [
    BurnedLine("Where did you leave the keys", "en", 4.5, 7.0, "band"),
    BurnedLine("قطار ساعت هفت حرکت می‌کند", "fa", 12.5, 15.0, "band"),
    BurnedLine("MUSEUM ENTRANCE", "en", 16.0, 20.0, "sign"),
]
DURATION = 21.0
TIME_TOLERANCE_S = 0.5  # speech segments: the bound
SCREEN_TOLERANCE_S = 1.0  # screen text: the band is read twice a second, signs on kept frames


@dataclass
class Indexed:
    video: SpokenAndWritten
    home: Path
    args: list[str]  # --home and --model for every command
    env: dict[str, str]
    report: dict


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_sentence_model: Path
) -> Indexed:
    require_program("espeak-ng", "espeak-ng")
    require_program("tesseract", "tesseract-ocr tesseract-ocr-eng tesseract-ocr-fas")
    require_fonts()
    pytest.importorskip("faster_whisper")
    pytest.importorskip("transformers")
    from vidsearch.testing.speech import SpeechVideo, speech_windows
    from vidsearch.testing.tiny_whisper import fit_tiny_whisper

    folder = tmp_path_factory.mktemp("spoken-and-written")
    video = write_spoken_and_written_video(
        folder / "harbour.mkv", SPOKEN, WRITTEN, duration=DURATION
    )
    heard = speech_windows(SpeechVideo(video.path, video.duration, video.spoken))
    assert [text for _, text, _ in heard] == [u.text for u in SPOKEN]
    whisper = fit_tiny_whisper(folder / "whisper", heard)
    home = folder / "home"
    args = ["--home", str(home), "--model", str(tiny_model)]
    env = {
        "VIDSEARCH_DIALOGUE_MODEL": str(tiny_sentence_model),
        "VIDSEARCH_SPEECH": "auto",
        "VIDSEARCH_ASR_MODEL": str(whisper / "ct2"),
        "VIDSEARCH_SCREEN_TEXT": "true",
        "VIDSEARCH_WORKERS": "1",
    }
    done = CliRunner().invoke(app, ["index", str(video.path), "--json", *args], env=env)
    assert done.exit_code == 0, done.output
    (report,) = json.loads(done.stdout)
    return Indexed(video, home, args, env, report)


def _search(indexed: Indexed, query: str, *options: str) -> dict:
    runner = CliRunner()
    done = runner.invoke(app, ["search", query, "--json", *options, *indexed.args], env=indexed.env)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _persian_keyboard(text: str) -> str:
    """As typed on an Arabic-layout keyboard: Arabic yeh and kaf, no zero-width non-joiner."""
    return text.replace("ی", "ي").replace("ک", "ك").replace("\u200c", " ")


def test_one_index_command_reads_speech_and_screen_text(indexed: Indexed) -> None:
    report = indexed.report
    assert report["status"] == "indexed" and report["warnings"] == []
    assert report["lines"] == {"speech": len(SPOKEN), "screen text": len(WRITTEN)}


def test_videos_lists_the_lines_of_each_source(indexed: Indexed) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["videos", *indexed.args[:2]], env=indexed.env)
    assert listed.exit_code == 0, listed.output
    assert "2 speech, 3 screen text lines" in listed.stdout
    as_json = runner.invoke(app, ["videos", "--json", *indexed.args[:2]], env=indexed.env)
    [video] = json.loads(as_json.stdout)
    assert video["lines"] == {"speech": len(SPOKEN), "screen text": len(WRITTEN)}


def test_speech_segments_land_at_the_spoken_times(indexed: Indexed) -> None:
    found = _search(
        indexed, "lighthouse", "--mode", "dialogue", "--top-k", "10", "--min-score", "0"
    )
    lines = sorted(
        (line for m in found["moments"] for line in m["dialogue"]), key=lambda ln: ln["start"]
    )
    assert [line["source"] for line in lines] == ["speech"] * len(SPOKEN)
    for line, said in zip(lines, indexed.video.spoken, strict=True):
        assert abs(line["start"] - said.start) <= TIME_TOLERANCE_S, (line, said)
        assert abs(line["end"] - said.end) <= TIME_TOLERANCE_S, (line, said)
        assert all(unicodedata.category(c) != "Cc" for c in line["text"]), line["text"]


@pytest.mark.parametrize("said", SPOKEN, ids=lambda u: u.language)
def test_each_spoken_sentence_is_found_with_why_speech(indexed: Indexed, said: Utterance) -> None:
    placed = next(p for p in indexed.video.spoken if p.text == said.text)
    for query in {said.text, _persian_keyboard(said.text)}:
        best = _search(indexed, query, "--top-k", "3")["moments"][0]
        assert best["why"] in ("speech", "frame + speech"), best
        line = best["dialogue"][0]
        assert (line["source"], line["text"], line["language"]) == (
            "speech",
            said.text,
            said.language,
        )
        assert abs(line["start"] - placed.start) <= TIME_TOLERANCE_S, (line, placed)
        assert best["start"] < placed.end and placed.start < best["end"]


@pytest.mark.parametrize("shown", WRITTEN, ids=lambda line: line.region + "-" + line.language)
def test_each_line_on_screen_is_found_at_its_time(indexed: Indexed, shown: BurnedLine) -> None:
    for query in {shown.text, _persian_keyboard(shown.text)}:
        best = _search(indexed, query, "--top-k", "3")["moments"][0]
        assert best["why"] in ("screen text", "frame + screen text"), best
        line = best["dialogue"][0]
        assert line["source"] == "screen text"
        assert abs(line["start"] - shown.start) <= SCREEN_TOLERANCE_S, (line, shown)
        assert best["start"] < shown.end and shown.start < best["end"]  # the moment shows it


def test_screen_mode_searches_only_what_is_written(indexed: Indexed) -> None:
    found = _search(indexed, "keys", "--mode", "screen", "--top-k", "10")
    sources = {line["source"] for m in found["moments"] for line in m["dialogue"]}
    assert found["mode"] == "screen" and sources == {"screen text"}


@pytest.fixture(scope="module")
def server(indexed: Indexed, tiny_model: Path) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in indexed.env.items():
            patch.setenv(name, value)
        live = live_server(indexed.home, tiny_model)
    try:
        yield live.url
    finally:
        live.stop()


def test_the_api_and_the_seed_route_carry_the_lines_and_their_source(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        [video] = http.get("/videos").json()["videos"]
        assert video["lines"] == {"speech": len(SPOKEN), "screen text": len(WRITTEN)}
        found = http.get("/search", params={"q": "MUSEUM ENTRANCE", "top_k": 3}).json()
        best = found["moments"][0]
        assert best["why"] in ("screen text", "frame + screen text")
        assert best["dialogue"][0]["source"] == "screen text"
        seed = http.get("/harbour.mkv/", params={"search_entry": "where did you leave the keys"})
        assert seed.status_code == 200, seed.text
        lines = seed.json()["lines"]
        assert lines[0]["source"] == "screen text"
        assert lines[0]["text"].lower().startswith("where did you leave")


def test_the_python_client_carries_the_source(server: str) -> None:
    from vidsearch.client import Client

    with Client(server) as client:
        found = client.search(SPOKEN[1].text, mode="dialogue", top_k=3)
    best = found.moments[0]
    assert best.why in ("speech", "frame + speech")
    assert (best.dialogue[0].source, best.dialogue[0].text) == ("speech", SPOKEN[1].text)


def test_the_web_page_shows_each_line_with_its_source(server: str, tmp_path: Path) -> None:
    with page_at(server) as (page, errors):
        page.fill("#q", "MUSEUM ENTRANCE")
        page.select_option("#mode", "text")
        page.press("#q", "Enter")
        page.wait_for_selector("#results .moment .lines:not([hidden])")
        card = page.locator("#results .moment").first
        item = card.locator(".lines li").first
        assert item.get_attribute("data-source") == "screen text"
        assert item.locator(".source").text_content().startswith("screen text 0:1")
        assert "MUSEUM" in item.locator(".line").text_content()
        assert card.locator(".why").text_content() == card.get_attribute("data-why")
        sources = page.locator("#results .lines li").evaluate_all(
            "items => items.map(i => i.dataset.source)"
        )
        assert {"speech", "screen text"} <= set(sources)  # every line is listed with its source
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=screenshot_dir(tmp_path) / "speech-and-screen-text.png")
    assert errors == []


def test_eval_moments_reports_each_source(indexed: Indexed, tmp_path: Path) -> None:
    """`vidsearch eval moments` indexes the same video with speech and screen text and gives
    R@k and the time error per source the queries name."""
    rows = [
        {"query": line.text, "source": "screen text",
         "spans": [{"video": "harbour.mkv", "start": line.start, "end": line.end}]}
        for line in WRITTEN
    ] + [
        {"query": said.text, "source": "speech",
         "spans": [{"video": "harbour.mkv", "start": said.start, "end": said.end}]}
        for said in indexed.video.spoken
    ]  # fmt: skip
    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps(rows, ensure_ascii=False))
    model = indexed.args[indexed.args.index("--model") + 1]
    options = [
        "--speech",
        "auto",
        "--screen-text",
        "--asr-model",
        indexed.env["VIDSEARCH_ASR_MODEL"],
    ]
    done = CliRunner().invoke(
        app,
        ["eval", "moments", "--videos", str(indexed.video.path.parent), "--queries", str(queries),
         "--model", model, "--k", "1,3", "--out", str(tmp_path / "out"), "--json", *options],
        env=indexed.env,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    (result,) = json.loads(done.stdout)["results"]
    by_source = result["by_source"]
    assert set(by_source) == {"screen text", "speech"}
    screen = by_source["screen text"]
    assert screen["queries"] == len(WRITTEN) and screen["recall"]["R@1"] == 1.0
    assert screen["mean_time_error"] is not None and screen["mean_time_error"] <= 1.0
    speech = by_source["speech"]
    assert speech["queries"] == len(SPOKEN) and speech["recall"]["R@1"] == 1.0


def test_an_upload_job_reports_its_stages(server: str, tmp_path: Path) -> None:
    """A job goes frames -> speech -> screen text; its last stage is reported done."""
    from service_support import index_video
    from vidsearch.testing.speech import write_speech_video

    video = write_speech_video(tmp_path / "murmur.mkv", [], duration=3.0, noise=0.01).path
    with httpx.Client(base_url=server, timeout=60) as http:
        job = index_video(http, video)
    assert (job["stage"], job["stage_progress"]) == ("screen text", 1.0)
