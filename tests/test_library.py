"""The public API: `vidsearch.open(...)` -> Library, as the README shows it."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import vidsearch
from vidsearch.errors import (
    ConfigError,
    ModelError,
    ModelMismatchError,
    NotFoundError,
    QueryError,
)
from vidsearch.ingest import IngestReport, IngestStatus
from vidsearch.search import EmptyIndexError, read_query
from vidsearch.testing.tiny_model import write_tiny_model
from vidsearch.testing.videos import SceneSpan


class Recorder:
    """A ProgressListener that keeps what it is told."""

    def __init__(self) -> None:
        self.started: list[Path] = []
        self.finished: list[IngestReport] = []

    def video_started(self, path: Path, duration: float) -> None:
        self.started.append(path)

    def video_progress(self, position: float, decoded: int, kept: int) -> None:
        pass

    def text_progress(self, stage: str, done: float, total: float) -> None:
        pass

    def video_finished(self, report: IngestReport) -> None:
        self.finished.append(report)


def frame_at(path: Path, seconds: float) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if float(frame.pts * stream.time_base) >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("no frame")


@pytest.fixture()
def folder(tmp_path: Path, standard_video: tuple[Path, list[SceneSpan]]) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(standard_video[0], folder / "film.mp4")
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_the_readme_walk_through(home: Path, tiny_model: Path, folder: Path) -> None:
    notes: list[str] = []
    progress = Recorder()
    with vidsearch.open(home=home, model=str(tiny_model), workers=1, notify=notes.append) as lib:
        assert isinstance(lib, vidsearch.Library)
        report = lib.index([folder], progress=progress)
        assert [r.name for r in report.videos] == ["film.mp4"] and report.failed == 0
        assert report.videos[0].status is IngestStatus.INDEXED and report.indexed == 1
        assert report.to_json()[0]["frames"] == 6
        assert [p.name for p in progress.started] == ["film.mp4"]
        assert progress.finished == report.videos

        # by image: a file, a PIL image and an array find the same shot (12 s: the last one)
        pixels = frame_at(folder / "film.mp4", 12.0)
        Image.fromarray(pixels).save(folder / "query.png")
        by_path = lib.search(image=folder / "query.png", top_k=3)
        by_pil = lib.search(image=Image.fromarray(pixels), top_k=3)
        by_array = lib.search(image=pixels, top_k=3)
        best = by_path.moments[0]
        assert best.video == "film.mp4" and best.start <= 12.0 <= best.end
        assert best.timestamp == pytest.approx(12.0, abs=0.05) and best.score > 0.99
        assert best.thumbnail is not None and Path(best.thumbnail).is_file()
        for other in (by_pil, by_array):
            assert [(m.video, m.shot) for m in other.moments] == [
                (m.video, m.shot) for m in by_path.moments
            ]
        assert by_path.query == str(folder / "query.png")

        text = lib.search("a red square", top_k=2)
        assert len(text.moments) == 2 and text.mode is vidsearch.SearchMode.VISUAL
        assert text.encoder is not None and text.encoder.language == "en"
        assert text.moments[0].score >= text.moments[1].score

        [video] = lib.videos()
        assert video.name == "film.mp4" and video.complete and video.frames == 6
        assert lib.video("film.mp4") == video

        # unchanged: skipped, nothing re-encoded
        again = lib.index([folder / "film.mp4"])
        assert again.videos[0].status is IngestStatus.SKIPPED and again.videos[0].encoded == 0

        assert lib.remove("film.mp4").name == "film.mp4"
        assert lib.videos() == []
        with pytest.raises(NotFoundError, match="no indexed video named .film.mp4."):
            lib.remove("film.mp4")


def test_listing_never_loads_the_model(home: Path, tiny_model: Path, folder: Path) -> None:
    with vidsearch.open(home=home, model=str(tiny_model), workers=1) as lib:
        lib.index([folder])
    missing = str(home.parent / "no-such-model")
    with vidsearch.open(home=home, model=missing) as lib:
        assert [v.name for v in lib.videos()] == ["film.mp4"]
        assert not lib.model_loaded
        with pytest.raises(ModelError, match="no-such-model"):
            lib.search("anything")
    # the index is unharmed by the failed model
    with vidsearch.open(home=home, model=str(tiny_model)) as lib:
        assert lib.videos()[0].frames == 6


def test_another_model_is_refused_before_any_work(
    home: Path, tiny_model: Path, folder: Path, tmp_path: Path
) -> None:
    with vidsearch.open(home=home, model=str(tiny_model), workers=1) as lib:
        lib.index([folder])
    other = write_tiny_model(tmp_path / "other-model", seed=1)
    with vidsearch.open(home=home, model=str(other), workers=1) as lib:
        with pytest.raises(ModelMismatchError, match="was built with model"):
            lib.index([folder])
        with pytest.raises(ModelMismatchError):
            lib.search("anything")
        assert lib.store.vectors.count() == 6


def test_an_empty_library_says_so(home: Path, tiny_model: Path) -> None:
    with vidsearch.open(home=home, model=str(tiny_model)) as lib:
        with pytest.raises(EmptyIndexError, match="index some videos first"):
            lib.search("anything")
        with pytest.raises(QueryError, match="one of them"):
            lib.search()
        with pytest.raises(QueryError, match="one of them"):
            lib.search("text", image=np.zeros((4, 4, 3), np.uint8))
        with pytest.raises(QueryError, match="empty query"):
            lib.search("   ")
        with pytest.raises(QueryError, match=r"\(height, width, 3\)"):
            lib.search(image=np.zeros((4, 4, 7), np.uint8))


def test_settings_are_checked(home: Path) -> None:
    with pytest.raises(ConfigError, match="invalid setting: .*interval"):
        vidsearch.open(home=home, interval=-1)
    with pytest.raises(ConfigError, match="not both"):
        vidsearch.open(home=home, settings=vidsearch.Settings(home=home))
    assert not (home / "index.lock").exists()  # nothing was opened


def test_a_query_is_read_once_into_every_form() -> None:
    query = read_query("  مردی که «در ساحل» می دود  ")
    assert query.text == "مردی که «در ساحل» می دود" and query.language == "fa"
    assert query.plain == "مردی که در ساحل می دود"
    assert query.phrases == ("در ساحل",)
    assert query.for_encoders == query.for_words == "مردی که در ساحل میدود"
    english = read_query('he said "never come back"', language="EN")
    assert english.language == "en" and english.phrases == ("never come back",)
    assert english.for_encoders == english.plain == "he said never come back"
    with pytest.raises(QueryError, match="too long"):
        read_query("x" * 1001)


def test_searches_report_their_stages(home: Path, tiny_model: Path, folder: Path) -> None:
    from contextlib import contextmanager

    stages: list[str] = []

    @contextmanager
    def timer(stage: str):
        stages.append(stage)
        yield

    with vidsearch.open(home=home, model=str(tiny_model), workers=1, timer=timer) as lib:
        lib.index([folder])
        lib.search("a red square")
    assert stages == ["encode", "vector_search"]
