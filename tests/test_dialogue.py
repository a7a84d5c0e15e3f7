"""Dialogue search: cues stored in a real Qdrant Edge shard (and a Qdrant collection), phrase
and keyword search, hybrid fusion, the CLI, and videos without subtitles left as they were.

The tiny sentence model's vectors are random: ranking assertions rely on exact text (cosine 1),
BM25 and phrase matches, or controlled inputs to the pure fusion functions."""

from __future__ import annotations

import codecs
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from test_subtitles import srt_of, write_mkv_with_subtitles
from vidsearch.cli import app
from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.placement import FrameTimeline, StoredFrame
from vidsearch.encoders import ClipEncoder
from vidsearch.errors import QueryError
from vidsearch.index.dialogue_edge import EdgeDialogueIndex
from vidsearch.index.guarded import GuardedDialogueIndex
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor, IngestStatus
from vidsearch.search import Searcher, read_query
from vidsearch.search.fusion import Channel, FusionMethod, calibrate, fuse
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video
from vidsearch.types import DialogueHit, FrameHit, SearchMode

FPS = 25
LINES_EN = [
    (0.5, 2.0, "Where is the key?"),
    (3.5, 5.0, "She said she'll never come back."),
    (6.5, 8.0, "Back she will never come, said nobody."),
    (9.5, 11.0, "Tehran is far away."),
]
LINE_FA = (12.5, 13.5, "من می‌خواهم برگردم")
QUERY_FA = "من می خواهم برگردم"  # typed with a space instead of the half-space


# -- pure parts: fusion, calibration, placement, phrases --------------------------------------
def frame(video: str, t: float, shot: int, start: float, end: float, score: float) -> FrameHit:
    return FrameHit(video, t, shot, start, end, score, int(t * 1000))


def line(cue: str, video: str, start: float, shot: int, span: tuple[float, float], score: float):
    return DialogueHit(
        cue, video, start, start + 1, cue, "en", score, shot, *span, int(start * 1000), start
    )


def test_rrf_puts_the_window_both_channels_agree_on_first() -> None:
    frames = [
        frame("v", 1.0, 0, 0, 3, 0.31),  # best frame, no line
        frame("v", 7.0, 2, 6, 9, 0.30),  # second-best frame, its shot has the best line
        frame("v", 4.0, 1, 3, 6, 0.10),
    ]
    words = [line("a", "v", 7.5, 2, (6, 9), 5.0), line("b", "v", 12.0, 3, (11, 14), 4.0)]
    windows = fuse(frames, [], words, 10, method=FusionMethod.RRF)
    assert [(w.shot, w.why) for w in windows] == [
        (2, "frame + subtitle"),
        (0, "frame"),
        (3, "subtitle"),
        (1, "frame"),
    ]
    assert windows[0].fused == pytest.approx(1 / 62 + 1 / 61)
    assert [ln.text for ln in windows[0].best_lines()] == ["a"]
    assert windows[2].anchor == (12000, 12.0)  # a dialogue-only moment shows the line's frame
    assert (windows[2].start, windows[2].end) == (11, 14)  # the line's shot


def test_score_sum_weighs_margins_rrf_only_ranks() -> None:
    frames = [frame("v", 1.0, 0, 0, 3, 0.90), frame("v", 4.0, 1, 3, 6, 0.20)]
    frames += [frame("v", 7.0 + i, 2 + i, 6 + i, 7 + i, 0.19) for i in range(4)]
    words = [line("x", "v", 4.2, 1, (3, 6), 2.0), line("y", "v", 1.5, 0, (0, 3), 1.9)]
    words += [line(f"z{i}", "v", 7.0 + i, 2 + i, (6 + i, 7 + i), 0.2) for i in range(4)]
    rrf = fuse(frames, [], words, 2, method=FusionMethod.RRF)
    summed = fuse(frames, [], words, 2, method=FusionMethod.SCORE_SUM)
    # ranks tie shots 0 and 1 (1st + 2nd each); the frame score's large margin decides the sum
    assert rrf[0].fused == pytest.approx(rrf[1].fused)
    assert [w.shot for w in summed] == [0, 1]
    assert summed[0].fused > summed[1].fused


def test_calibrate() -> None:
    assert calibrate([]) == []
    assert calibrate([0.3]) == [1.0]
    assert calibrate([0.2, 0.2]) == [1.0, 1.0]
    values = calibrate([0.1, 0.2, 0.3])
    assert values[0] == 0.0 and values[-1] == 1.0 and values[1] == pytest.approx(0.5)


def test_lines_in_a_long_shot_get_their_own_window() -> None:
    long = (0.0, 600.0)
    frames = [frame("v", 10.0, 0, *long, 0.5)]
    words = [line("early", "v", 11.0, 0, long, 3.0), line("late", "v", 300.0, 0, long, 2.0)]
    windows = fuse(frames, [], words, 5)
    spans = sorted((w.start, w.end, w.why) for w in windows)
    assert spans[0][2] == "frame + subtitle" and spans[0][0] <= 10.0 <= spans[0][1]
    assert spans[1] == (298.0, 303.0, "subtitle")


def test_placement_on_stored_frames() -> None:
    timeline = FrameTimeline(
        [
            StoredFrame(0.0, 0, 0, 0.0, 3.0),
            StoredFrame(2.0, 2000, 0, 0.0, 3.0),
            StoredFrame(3.0, 3000, 1, 3.0, 5.0),
            StoredFrame(7.0, 7000, 3, 7.0, 9.0),  # shot 2 (5-7 s, black) kept no frame
        ]
    )
    assert timeline.place(1.8, 2.9) == timeline.place(1.8, 2.9)
    assert timeline.place(1.8, 2.9).anchor_pts == 2000
    assert timeline.place(3.2, 4.8).shot == 1
    black = timeline.place(5.5, 6.0)  # nothing holds it: the nearest frame's shot
    assert (black.shot, black.anchor_pts) == (3, 7000)
    assert FrameTimeline([]).place(1, 2).shot == -1


def test_quoted_phrases() -> None:
    query = read_query('the line "never come back" please')
    assert (query.plain, query.phrases) == ("the line never come back please", ("never come back",))
    assert read_query("«می خواهم» برگردم").phrases == ("میخواهم",)
    assert read_query("no quotes").phrases == ()


# -- a film with subtitles, indexed once ---------------------------------------------------
@dataclass
class Indexed:
    home: Path
    film: Path
    spans: list[SceneSpan]
    encoder: ClipEncoder
    dialogue: DialogueEncoder
    report: object


def film_scenes() -> list[Scene]:
    return [Scene(SceneKind.TEXTURE, 3 * FPS, color=c) for c in range(5)]


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory, encoder: ClipEncoder, tiny_sentence_model: Path
) -> Iterator[Indexed]:
    folder = tmp_path_factory.mktemp("dialogue")
    film = folder / "film.mp4"
    spans = write_video(film, film_scenes(), fps=FPS)
    english = codecs.BOM_UTF16_LE + srt_of(*LINES_EN).encode("utf-16-le")
    (folder / "film.en.srt").write_bytes(english)
    (folder / "film.fa.srt").write_bytes(srt_of(LINE_FA).encode("utf-8"))
    (folder / "film.de.srt").write_bytes(b"\x00\x9f binary \x00\x00")
    dialogue = DialogueEncoder(str(tiny_sentence_model))
    home = folder / "home"
    with IndexStore(home) as store:
        report = Ingestor(store, encoder, dialogue=dialogue).index_file(film)
    yield Indexed(home, film, spans, encoder, dialogue, report)


def test_cues_indexed_and_a_bad_file_only_warned(indexed: Indexed) -> None:
    report = indexed.report
    assert report.status is IngestStatus.INDEXED  # type: ignore[attr-defined]
    assert report.cues == 5 and report.frames == 10  # type: ignore[attr-defined]
    assert report.warnings == [  # type: ignore[attr-defined]
        "subtitles film.de.srt: not a text file (it holds NUL bytes and is not UTF-16); skipped"
    ]
    assert (indexed.home / "dialogue" / "edge_config.json").is_file()


def test_phrase_search_finds_the_exact_words_in_order(indexed: Indexed) -> None:
    with IndexStore(indexed.home) as store:
        searcher = Searcher(store, indexed.encoder, dialogue=indexed.dialogue)
        result = searcher.search_text('"never come back"', mode=SearchMode.DIALOGUE)
        assert result.mode is SearchMode.DIALOGUE
        [moment] = result.moments  # the reordered line has the words, not the phrase
        assert [ln.text for ln in moment.dialogue] == ["She said she'll never come back."]
        assert (moment.start, moment.end) == pytest.approx((3.0, 6.0), abs=0.05)
        assert moment.why == "subtitle" and moment.frames == []
        assert moment.thumbnail is not None and Path(moment.thumbnail).is_file()
        # without quotes both lines share the words; BM25 ranks them, and IDF favours neither
        loose = searcher.search_text("never come back", mode=SearchMode.DIALOGUE, top_k=5)
        keyword = [ln.text for m in loose.moments for ln in m.dialogue if ln.keyword]
        assert set(keyword) == {LINES_EN[1][2], LINES_EN[2][2]}
        assert searcher.search_text('"never went back"', mode=SearchMode.DIALOGUE).moments == []


def test_exact_lines_in_english_and_persian_come_first(indexed: Indexed) -> None:
    with IndexStore(indexed.home) as store:
        searcher = Searcher(store, indexed.encoder, dialogue=indexed.dialogue)
        for query, expected, language in [
            ("Tehran is far away.", "Tehran is far away.", "en"),
            (QUERY_FA, LINE_FA[2], "fa"),  # spelling variants meet in the normaliser
        ]:
            best = searcher.search_text(query, mode=SearchMode.DIALOGUE).moments[0]
            top = best.dialogue[0]
            assert (top.text, top.language) == (expected, language)
            assert top.similarity == pytest.approx(1.0, abs=1e-4) and top.keyword


def test_hybrid_is_the_default_and_says_why(indexed: Indexed) -> None:
    with IndexStore(indexed.home) as store:
        searcher = Searcher(store, indexed.encoder, dialogue=indexed.dialogue)
        result = searcher.search_text("Where is the key?", top_k=10)
        assert result.mode is SearchMode.HYBRID
        assert {m.why for m in result.moments} <= {"frame", "subtitle", "frame + subtitle"}
        assert any(m.why == "frame + subtitle" for m in result.moments)
        assert result.moments[0].dialogue[0].text == "Where is the key?"
        data = result.to_json()
        assert data["mode"] == "hybrid"
        first = data["moments"][0]  # type: ignore[index]
        assert set(first) >= {"video", "start", "end", "timestamp", "score", "frames", "why"}
        assert first["dialogue"][0]["text"] == "Where is the key?"
        visual = searcher.search_text("Where is the key?", mode=SearchMode.VISUAL, top_k=10)
        assert visual.mode is SearchMode.VISUAL
        assert all(m.why == "frame" and not m.dialogue for m in visual.moments)


def test_a_video_without_subtitles_searches_exactly_as_before(
    tmp_path: Path,
    encoder: ClipEncoder,
    tiny_sentence_model: Path,
    standard_video: tuple[Path, list[SceneSpan]],
) -> None:
    path, _ = standard_video
    results = []
    for name, dialogue in [("plain", None), ("subtitles-on", DialogueEncoder("never-loaded"))]:
        with IndexStore(tmp_path / name) as store:
            report = Ingestor(store, encoder, dialogue=dialogue).index_file(path)
            assert (report.cues, report.warnings) == (0, [])
            searcher = Searcher(store, encoder, dialogue=dialogue)
            found = searcher.search_text("a dog", top_k=5).to_json()
            for moment in found["moments"]:  # type: ignore[attr-defined]
                moment["thumbnail"] = Path(moment["thumbnail"]).relative_to(tmp_path / name)
            results.append(found)
            assert not store.has_dialogue
        assert not (tmp_path / name / "dialogue").exists()
    assert results[0] == results[1]  # the model named "never-loaded" was never opened
    assert results[0]["mode"] == "visual"
    with IndexStore(tmp_path / "plain") as store:
        searcher = Searcher(store, encoder, dialogue=DialogueEncoder(str(tiny_sentence_model)))
        no_lines = "no subtitles or transcribed speech are indexed for any indexed video"
        with pytest.raises(QueryError, match=no_lines):
            searcher.search_text("a dog", mode=SearchMode.DIALOGUE)


def test_added_subtitles_are_picked_up_and_removal_drops_cues(
    tmp_path: Path, encoder: ClipEncoder, tiny_sentence_model: Path
) -> None:
    film = tmp_path / "later.mp4"
    write_video(film, film_scenes()[:2], fps=FPS)
    dialogue = DialogueEncoder(str(tiny_sentence_model))
    with IndexStore(tmp_path / "home") as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue)
        assert ingestor.index_file(film).cues == 0
        (tmp_path / "later.srt").write_text(srt_of((1, 2, "A line added later.")))
        again = ingestor.index_file(film)
        assert (again.status, again.cues) == (IngestStatus.SKIPPED, 1)
        assert ingestor.index_file(film).cues == 0  # unchanged since: not read again
        assert store.dialogue.count() == 1
        store.remove_video(store.catalog.videos()[0].video_id)
        assert store.dialogue.count() == 0


def test_an_unloadable_dialogue_model_only_warns(tmp_path: Path, encoder: ClipEncoder) -> None:
    film = tmp_path / "film.mp4"
    write_video(film, film_scenes()[:2], fps=FPS)
    (tmp_path / "film.srt").write_text(srt_of((1, 2, "Hello.")))
    with IndexStore(tmp_path / "home") as store:
        dialogue = DialogueEncoder(str(tmp_path / "no-such-model"))
        report = Ingestor(store, encoder, dialogue=dialogue).index_file(film)
        assert report.status is IngestStatus.INDEXED and report.frames == 4
        assert report.cues == 1  # indexed for words and phrases (tests/test_dialogue_lexical.py)
        [warning] = report.warnings
        assert "words and phrases only" in warning and "VIDSEARCH_DIALOGUE_MODEL" in warning
        assert "no-such-model" in warning


# -- the Qdrant server backend (qdrant-client local mode) matches the embedded one ------------
@pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")
def test_server_dialogue_index_matches_the_embedded_one(indexed: Indexed) -> None:
    from vidsearch.index.qdrant_connection import QdrantConnection

    with IndexStore(indexed.home) as edge_store:
        edge = edge_store.dialogue
        assert isinstance(edge, GuardedDialogueIndex)
        assert isinstance(edge.inner, EdgeDialogueIndex)
        video_id = edge_store.catalog.videos()[0].video_id
        cues = edge_store.dialogue.search_words(indexed.dialogue.query_words("x"), 10)
        assert cues == []
        points = _all_cue_points(edge_store, video_id, indexed.dialogue)
    with QdrantConnection.open(path=":memory:") as connection:
        server = connection.dialogue(indexed.dialogue.dim)
        server.upsert(points)
        other = EdgeDialogueIndex(indexed.home.parent / "edge-copy", indexed.dialogue.dim)
        other.upsert(points)
        vector = indexed.dialogue.embed(["Where is the key?"], ["en"])[0]
        words = indexed.dialogue.query_words(read_query("she never came back to Tehran").for_words)
        for index in (server, other):
            assert index.count() == 5 and index.count(video_id) == 5
        for a, b in [
            (server.search_meaning(vector, 5), other.search_meaning(vector, 5)),
            (server.search_words(words, 5), other.search_words(words, 5)),
            (
                server.search_words(words, 5, phrases=["never come back"]),
                other.search_words(words, 5, phrases=["never come back"]),
            ),
        ]:
            assert [h.text for h in a] == [h.text for h in b]
            assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4)
        assert len(server.search_words(words, 5, phrases=["never come back"])) == 1
        server.delete_video(video_id)
        assert server.count() == 0
        other.close()


def _all_cue_points(store: IndexStore, video_id: str, dialogue: DialogueEncoder) -> list:
    from vidsearch.index.dialogue_base import CuePoint
    from vidsearch.text.spelling import words_spelling

    hits = store.dialogue.search_meaning(np.ones(dialogue.dim, np.float32), 100)
    return [
        CuePoint(
            video_id,
            i,
            h.start,
            h.end,
            h.text,
            h.language,
            words_spelling(h.text),
            h.shot,
            h.shot_start,
            h.shot_end,
            h.anchor_pts,
            h.anchor_timestamp,
            dialogue.embed([h.text], [h.language])[0],
            dialogue.words(h.text),
        )  # fmt: skip
        for i, h in enumerate(sorted(hits, key=lambda h: h.start))
    ]


# -- the command line and the API --------------------------------------------------------------
def test_cli_dialogue_mode_and_index_warnings(
    tmp_path: Path,
    indexed: Indexed,
    tiny_model: Path,
    tiny_sentence_model: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIDSEARCH_DIALOGUE_MODEL", str(tiny_sentence_model))
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(indexed.film, folder / "film.mp4")
    for sidecar in indexed.film.parent.glob("film.*.srt"):
        shutil.copy(sidecar, folder / sidecar.name)
    home = ["--home", str(tmp_path / "home"), "--model", str(tiny_model)]
    runner = CliRunner()
    done = runner.invoke(app, ["index", str(folder), "--json", *home])
    assert done.exit_code == 0, done.output
    assert "warning: film.mp4: subtitles film.de.srt: not a text file" in done.stderr
    assert json.loads(done.stdout)[0]["cues"] == 5
    found = runner.invoke(app, ["search", '"never come back"', "--mode", "dialogue", *home])
    assert found.exit_code == 0, found.output
    assert "[subtitle]  film.mp4" in found.stdout
    assert "«She said she'll never come back.» (en)" in found.stdout
    as_json = runner.invoke(app, ["search", "Tehran is far away.", "--json", *home])
    data = json.loads(as_json.stdout)
    assert data["mode"] == "hybrid"
    assert data["moments"][0]["dialogue"][0]["text"] == "Tehran is far away."
    bad = runner.invoke(app, ["search", "x", "--mode", "words", *home])
    assert bad.exit_code == 2


def test_api_mode_and_lines_from_an_uploaded_mkv(
    tmp_path: Path, tiny_model: Path, tiny_sentence_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload carries no sidecars: the lines come from the MKV's own subtitle stream."""
    import httpx

    from service_support import index_video, live_server

    monkeypatch.setenv("VIDSEARCH_DIALOGUE_MODEL", str(tiny_sentence_model))
    srt = tmp_path / "source.srt"
    srt.write_text(srt_of((0.5, 1.5, "Meet me at the old bridge."), (2.2, 3.5, LINE_FA[2])))
    movie = tmp_path / "movie.mkv"
    write_mkv_with_subtitles(movie, srt, "eng")
    live = live_server(tmp_path / "home", tiny_model)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            index_video(http, movie)
            body = http.get("/search", params={"q": '"old bridge"', "mode": "dialogue"}).json()
            assert body["mode"] == "dialogue"
            [moment] = body["moments"]
            assert moment["why"] == "subtitle"
            assert moment["dialogue"][0]["text"] == "Meet me at the old bridge."
            assert moment["dialogue"][0]["language"] == "en"
            assert moment["thumbnail_url"]
            hybrid = http.get("/search", params={"q": "the old bridge"}).json()
            assert hybrid["mode"] == "hybrid"
            visual = http.get("/search", params={"q": "the old bridge", "mode": "visual"})
            assert visual.json()["mode"] == "visual"
            assert {m["why"] for m in visual.json()["moments"]} == {"frame"}
            wrong = http.get("/search", params={"q": "x", "mode": "words"})
            assert wrong.status_code == 422
    finally:
        live.stop()


def test_fusion_channels_are_the_documented_ones() -> None:
    assert [c.value for c in Channel] == ["frames", "meaning", "words"]
