"""Lines besides subtitles (speech, text on screen) in the dialogue index: stored with their
source, searched by mode, read again only when the reader changes, restored from the catalog
without reading, and a reader that cannot run is told once a run while the frames go on. The
readers here are small fakes of the `LineReader` protocol (the real ones have their own tests
and the end-to-end test in test_speech_and_screen_text.py); both index backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from test_subtitles import srt_of
from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.sources import Checkpoint, LinesRead, Partial, Progress
from vidsearch.encoders import ClipEncoder
from vidsearch.errors import DecodeError, ModelError, QueryError
from vidsearch.index.qdrant_connection import QdrantConnection
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor, IngestReport, IngestStatus
from vidsearch.search.searcher import Searcher
from vidsearch.subtitles import Cue
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.types import SearchMode, TextSource

pytestmark = pytest.mark.filterwarnings(
    "ignore:Payload indexes have no effect in the local Qdrant:UserWarning"
)

FPS = 25
SPOKEN = {
    "harbour.mp4": [Cue(1.0, 2.5, "the blue lighthouse is closed tonight", "en")],
    "desert.mp4": [Cue(4.0, 5.5, "water for the camels at noon", "en")],
}
WRITTEN = {
    "harbour.mp4": [Cue(3.0, 6.0, "HARBOUR MASTER OFFICE", "en")],
    "desert.mp4": [Cue(0.0, 2.0, "خروجی جاده کویر", "fa")],
}


@dataclass
class FakeReader:
    """A LineReader reading fixed lines per file name, counting its reads."""

    source: TextSource
    lines: dict[str, list[Cue]]
    identity: str = "fake-1"
    missing: str = "fake lines not read"
    every_video: bool = True
    load_error: str | None = None
    broken: set[str] = field(default_factory=set)  # file names whose reading fails
    reads: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)  # lines read (not taken from a resume)
    loads: int = 0

    def wanted(self, has_subtitles: bool) -> bool:
        return self.every_video or not has_subtitles

    def has_input(self, path: Path) -> bool:
        return True

    def load(self) -> None:
        self.loads += 1
        if self.load_error is not None:
            raise ModelError(self.load_error)

    def read(
        self,
        path: Path,
        frame_times: Sequence[float],
        progress: Progress,
        *,
        resume: Partial | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> LinesRead:
        """Reads its lines one by one, telling `checkpoint` after each; from `resume` on."""
        assert frame_times, "the kept frames' times are handed over"
        if path.name in self.broken:
            raise DecodeError(f"{path}: the audio stops at 1.0s of 6.0s")
        self.reads.append(path.name)
        done = list(resume.cues) if resume is not None else []
        for cue in self.lines.get(path.name, []):
            if resume is not None and cue.end <= resume.until:
                continue
            self.heard.append(cue.text)
            done.append(cue)
            if checkpoint is not None:
                checkpoint(list(done), cue.end)
            progress(cue.end, 6.0)
        return LinesRead(done)

    def close(self) -> None:
        pass


@dataclass
class Films:
    paths: list[Path]
    open_store: Callable[[], IndexStore]


@pytest.fixture(scope="module")
def film_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("line-films")
    paths = []
    for number, name in enumerate(SPOKEN):
        path = folder / name
        scenes = [Scene(SceneKind.TEXTURE, 3 * FPS, color=number * 2 + c) for c in range(2)]
        write_video(path, scenes, fps=FPS)
        paths.append(path)
    return paths


@pytest.fixture(params=["edge", "server"])
def films(
    request: pytest.FixtureRequest, tmp_path: Path, film_files: list[Path]
) -> Iterator[Films]:
    home = tmp_path / "home"
    if request.param == "edge":
        yield Films(film_files, lambda: IndexStore(home))
    else:
        storage = tmp_path / "qdrant"
        yield Films(
            film_files, lambda: IndexStore(home, server=QdrantConnection.open(path=storage))
        )


@pytest.fixture()
def dialogue(tiny_sentence_model: Path) -> DialogueEncoder:
    return DialogueEncoder(str(tiny_sentence_model))


def _index(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder, *readers: FakeReader
) -> list[IngestReport]:
    with films.open_store() as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue, readers=readers)
        return list(ingestor.index_paths(films.paths))


def _speech() -> FakeReader:
    return FakeReader(
        TextSource.SPEECH, SPOKEN, every_video=False, missing="speech not transcribed"
    )


def _screen() -> FakeReader:
    return FakeReader(TextSource.SCREEN, WRITTEN)


def test_lines_are_stored_with_their_source_and_each_mode_searches_its_own(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    reports = _index(films, encoder, dialogue, _speech(), _screen())
    assert [r.lines for r in reports] == [{"speech": 1, "screen text": 1}] * 2
    assert all(r.cues == 2 and not r.warnings for r in reports)
    with films.open_store() as store:
        searcher = Searcher(store, encoder, dialogue=dialogue)
        said = searcher.search_text('"blue lighthouse"', mode=SearchMode.DIALOGUE, top_k=5)
        assert [m.video for m in said.moments] == ["harbour.mp4"]
        best = said.moments[0]
        assert best.why == "speech" and best.dialogue[0].source is TextSource.SPEECH
        assert (best.dialogue[0].start, best.dialogue[0].end) == (1.0, 2.5)
        assert best.to_json()["dialogue"][0]["source"] == "speech"  # type: ignore[index]
        # what is written is not what is said: the dialogue mode does not see the sign
        assert not searcher.search_text('"harbour master"', mode=SearchMode.DIALOGUE).moments
        written = searcher.search_text('"harbour master"', mode=SearchMode.SCREEN, top_k=5)
        assert [m.why for m in written.moments] == ["screen text"]
        persian = searcher.search_text("جاده کویر", mode=SearchMode.TEXT, top_k=5)
        assert persian.moments[0].video == "desert.mp4"
        assert persian.moments[0].dialogue[0].source is TextSource.SCREEN
        hybrid = searcher.search_text('"camels at noon"', top_k=5)
        assert hybrid.mode is SearchMode.HYBRID
        assert hybrid.moments[0].why in ("speech", "frame + speech")


def test_lines_are_read_once_and_again_only_when_the_reader_changes(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    speech = _speech()
    _index(films, encoder, dialogue, speech)
    assert speech.reads == ["harbour.mp4", "desert.mp4"]
    again = _index(films, encoder, dialogue, speech)
    assert speech.reads == ["harbour.mp4", "desert.mp4"]  # nothing read twice
    assert all(r.status is IngestStatus.SKIPPED and not r.lines for r in again)
    speech.identity = "fake-2"  # another ASR model: every video is transcribed again
    speech.lines = {"harbour.mp4": [Cue(1.0, 2.5, "the red lighthouse", "en")]}
    replaced = _index(films, encoder, dialogue, speech)
    assert speech.reads[2:] == ["harbour.mp4", "desert.mp4"]
    assert [r.cues for r in replaced] == [1, 0]  # replaced, not added to
    with films.open_store() as store:
        searcher = Searcher(store, encoder, dialogue=dialogue)
        assert not searcher.search_text('"blue lighthouse"', mode=SearchMode.DIALOGUE).moments
        assert searcher.search_text('"red lighthouse"', mode=SearchMode.DIALOGUE).moments


def test_a_removed_and_added_video_gets_its_lines_back_without_reading(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    speech = _speech()
    _index(films, encoder, dialogue, speech)
    with films.open_store() as store:
        video_id = store.catalog.by_name("harbour.mp4").video_id  # type: ignore[union-attr]
        store.remove_video(video_id)
        assert store.dialogue.count(video_id) == 0
    reports = _index(films, encoder, dialogue, speech)
    assert reports[0].status is IngestStatus.INDEXED and reports[0].lines == {"speech": 1}
    assert speech.reads == ["harbour.mp4", "desert.mp4"]  # from the catalog, not read again


def test_speech_is_for_videos_without_subtitles_unless_every_video_is_asked(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    subtitles = films.paths[0].with_suffix(".srt")
    subtitles.write_text(srt_of((0.5, 2.0, "The harbour gate is locked.")))
    try:
        speech = _speech()
        reports = _index(films, encoder, dialogue, speech)
        assert speech.reads == ["desert.mp4"]
        assert reports[0].lines == {"subtitle": 1}
        speech.every_video = True  # VIDSEARCH_SPEECH=all
        _index(films, encoder, dialogue, speech)
        assert speech.reads == ["desert.mp4", "harbour.mp4"]
    finally:
        subtitles.unlink()


def test_a_reader_that_cannot_load_is_told_once_a_run_and_the_frames_go_on(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    hint = "the ASR model 'base' is not on this machine: set VIDSEARCH_ASR_MODEL"
    missing = _speech()
    missing.load_error = hint
    screen = _screen()
    reports = _index(films, encoder, dialogue, missing, screen)
    assert all(r.status is IngestStatus.INDEXED and r.frames > 0 for r in reports)
    warnings = [w for r in reports for w in r.warnings]
    assert warnings == [f"speech not transcribed: {hint}"]
    assert missing.loads == 1 and screen.reads == ["harbour.mp4", "desert.mp4"]
    assert [r.lines for r in reports] == [{"screen text": 1}] * 2
    again = _index(films, encoder, dialogue, missing, screen)  # the next run says it again
    assert [w for r in again for w in r.warnings] == [f"speech not transcribed: {hint}"]
    missing.load_error = None  # installed: the next run transcribes what it missed
    added = _index(films, encoder, dialogue, missing, screen)
    assert [r.lines for r in added] == [{"speech": 1}] * 2
    assert screen.reads == ["harbour.mp4", "desert.mp4"]  # screen text was current


def test_a_damaged_audio_track_is_a_warning_for_that_video_only(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    speech = _speech()
    speech.broken = {"harbour.mp4"}
    reports = _index(films, encoder, dialogue, speech)
    assert reports[0].warnings == [
        f"speech not transcribed: {films.paths[0]}: the audio stops at 1.0s of 6.0s"
    ]
    assert reports[0].frames > 0 and reports[1].lines == {"speech": 1}
    speech.broken = set()  # mended: the next run reads it (it was never stored)
    _index(films, encoder, dialogue, speech)
    assert speech.reads == ["desert.mp4", "harbour.mp4"]


def test_an_interrupted_reading_converges_without_duplicates(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    class Killed(BaseException):
        pass

    def killed(done: float, total: float) -> None:
        raise Killed

    speech = _speech()
    with films.open_store() as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue, readers=[speech])
        assert ingestor.dialogue is not None
        ingestor.dialogue.progress = lambda stage, done, total: killed(done, total)
        with pytest.raises(Killed):
            list(ingestor.index_paths(films.paths))
    reports = _index(films, encoder, dialogue, speech)
    assert [r.cues for r in reports] == [1, 1]
    again = _index(films, encoder, dialogue, speech)
    assert [r.status for r in again] == [IngestStatus.SKIPPED] * 2
    with films.open_store() as store:
        assert store.dialogue.count() == 2


def test_a_read_killed_half_way_goes_on_from_its_checkpoint(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    """An hour of speech is not heard twice: the indexer saves a long read's lines as it goes
    (every CHECKPOINT_EVERY_S), and the next run hands them back to the reader."""
    long_talk = [Cue(float(t), t + 0.8, f"line number {t}", "en") for t in range(5)]
    speech = FakeReader(
        TextSource.SPEECH, {"harbour.mp4": long_talk}, missing="speech not transcribed"
    )

    class Killed(BaseException):
        pass

    def killed_at_third(stage: str, done: float, total: float) -> None:
        if done >= 2.8:
            raise Killed

    with films.open_store() as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue, readers=[speech])
        assert ingestor.dialogue is not None
        ingestor.dialogue.progress = killed_at_third
        ingestor.dialogue.checkpoint_every = 0.0  # save at every line
        with pytest.raises(Killed):
            ingestor.index_file(films.paths[0])
    assert speech.heard == ["line number 0", "line number 1", "line number 2"]
    [report] = _index(Films(films.paths[:1], films.open_store), encoder, dialogue, speech)
    assert speech.heard[3:] == ["line number 3", "line number 4"]  # from where it stopped
    assert report.lines == {"speech": 5}
    with films.open_store() as store:
        searcher = Searcher(store, encoder, dialogue=dialogue)
        found = searcher.search_text('"line number"', mode=SearchMode.DIALOGUE, top_k=10)
        texts = sorted(line.text for m in found.moments for line in m.dialogue)
        assert texts == sorted(c.text for c in long_talk)  # each once


def test_a_mode_without_its_lines_says_how_to_get_them(
    films: Films, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    _index(films, encoder, dialogue, _speech())
    with films.open_store() as store:
        searcher = Searcher(store, encoder, dialogue=dialogue)
        with pytest.raises(QueryError, match="no text on screen is indexed.*tesseract-ocr"):
            searcher.search_text("a sign", mode=SearchMode.SCREEN)
        assert searcher.search_text("lighthouse", mode=SearchMode.TEXT).moments


def test_a_missing_asr_model_is_told_only_where_there_is_sound(
    tmp_path: Path, film_files: list[Path], encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    """The real transcriber with a model that is not there: silent videos never load it (and
    say nothing); the first video with sound says once what to set."""
    from vidsearch.dialogue.sources import SpeechLines
    from vidsearch.speech import open_transcriber
    from vidsearch.testing.speech import write_speech_video

    sound = write_speech_video(tmp_path / "noise.mkv", [], duration=3.0, noise=0.01).path
    reader = SpeechLines(lambda: open_transcriber(str(tmp_path / "no-such-model")))
    with IndexStore(tmp_path / "home") as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue, readers=[reader])
        silent = list(ingestor.index_paths(film_files))
        assert [r.warnings for r in silent] == [[], []]
        [loud] = list(ingestor.index_paths([sound]))
    assert loud.status is IngestStatus.INDEXED
    [warning] = loud.warnings
    assert warning.startswith("speech not transcribed: ") and "VIDSEARCH_ASR_MODEL" in warning


def test_without_tesseract_the_run_says_once_how_to_install_it(
    tmp_path: Path, film_files: list[Path], encoder: ClipEncoder, dialogue: DialogueEncoder
) -> None:
    from vidsearch.dialogue.sources import ScreenLines
    from vidsearch.screen_text import ScreenTextReader, TesseractEngine

    engine = TesseractEngine(binary=tmp_path / "no-tesseract-here")
    with IndexStore(tmp_path / "home") as store:
        ingestor = Ingestor(
            store, encoder, dialogue=dialogue, readers=[ScreenLines(ScreenTextReader(engine))]
        )
        reports = list(ingestor.index_paths(film_files))
    assert [r.status for r in reports] == [IngestStatus.INDEXED] * 2
    [warning] = [w for r in reports for w in r.warnings]
    assert warning.startswith("text on screen not read: ")
    assert warning.endswith(
        "sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fas"
    )
