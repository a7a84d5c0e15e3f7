"""Indexing generated videos into embedded Qdrant Edge and finding their moments again."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from vidsearch.encoders import ClipEncoder
from vidsearch.errors import ModelMismatchError, QueryError
from vidsearch.index import IndexStore
from vidsearch.ingest import Ingestor, IngestStatus
from vidsearch.search import Searcher
from vidsearch.testing.tiny_model import write_tiny_model
from vidsearch.testing.videos import SceneSpan


def frame_at(path: Path, seconds: float) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if float(frame.pts * stream.time_base) >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("no frame")


def snapshot(store: IndexStore) -> dict[str, dict]:
    """Every stored point with its payload, keyed by point id."""
    points: dict[str, dict] = {}
    for record in store.catalog.videos():
        points.update(store.vectors.payloads(record.video_id))
    return points


def test_index_then_search_by_exact_frame(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    path, spans = standard_video
    with IndexStore(home) as store:
        report = Ingestor(store, encoder).index_file(path)
        assert report.status is IngestStatus.INDEXED
        assert report.frames == report.encoded == 6  # 0, 2 | 3 | 5 | 7 | 12
        assert report.decoded == 350
        record = store.catalog.videos()[0]
        assert record.complete and record.frames == 6 and record.name == "standard.mp4"
        assert record.duration == pytest.approx(14.0, abs=0.05)

        searcher = Searcher(store, encoder)
        for scene_index in (0, 1, 4, 5):  # textured, textured, static, textured
            span = spans[scene_index]
            query = tmp_path / f"scene{scene_index}.png"
            Image.fromarray(frame_at(path, span.start + 0.5)).save(query)
            best = searcher.search_image(query, top_k=3).moments[0]
            assert best.start <= span.start + 0.5 < best.end, (scene_index, best)
            assert best.start == pytest.approx(span.start, abs=0.04)
            assert best.thumbnail is not None and Path(best.thumbnail).is_file()
            assert best.video == "standard.mp4" and best.path == str(path)


def test_moments_merge_hits_of_one_shot(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    path, _ = standard_video
    with IndexStore(home) as store:
        Ingestor(store, encoder).index_file(path)
        result = Searcher(store, encoder).search_text("anything", top_k=10)
    # 6 frames in 5 shots: the two frames of shot 0 merge into one moment
    assert len(result.moments) == 5
    first_shot = next(m for m in result.moments if m.shot == 0)
    assert [t for t, _ in first_shot.frames] == [0.0, 2.0]
    assert (first_shot.start, first_shot.end) == pytest.approx((0.0, 3.0), abs=0.04)
    scores = [m.score for m in result.moments]
    assert scores == sorted(scores, reverse=True)
    as_json = result.to_json()
    assert set(as_json["moments"][0]) >= {
        "video",
        "path",
        "start",
        "end",
        "timestamp",
        "score",
        "thumbnail",
    }


def test_reindexing_changes_nothing(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    path, _ = standard_video
    with IndexStore(home) as store:
        Ingestor(store, encoder).index_file(path)
        before = snapshot(store)
        vector_before = store.vectors.search(encoder.encode_texts(["x"])[0], 10)
    with IndexStore(home) as store:
        again = Ingestor(store, encoder).index_file(path)
        assert again.status is IngestStatus.SKIPPED and again.frames == 6
        assert snapshot(store) == before
        assert store.vectors.search(encoder.encode_texts(["x"])[0], 10) == vector_before


def test_filters_and_min_score(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    path, _ = standard_video
    other = tmp_path / "other.mp4"
    shutil.copy(path, other)
    with other.open("ab") as f:
        f.write(b"\0" * 16)  # different bytes, same frames: a second video
    with IndexStore(home) as store:
        reports = list(Ingestor(store, encoder).index_paths([path, other]))
        assert [r.status for r in reports] == [IngestStatus.INDEXED] * 2
        searcher = Searcher(store, encoder)
        only = searcher.search_text("a scene", top_k=20, videos=["other.mp4"])
        assert {m.video for m in only.moments} == {"other.mp4"}
        both = searcher.search_text("a scene", top_k=20)
        assert {m.video for m in both.moments} == {"standard.mp4", "other.mp4"}
        threshold = both.moments[2].score
        high = searcher.search_text("a scene", top_k=20, min_score=threshold)
        assert len(high.moments) >= 1 and all(m.score >= threshold - 1e-6 for m in high.moments)
        with pytest.raises(QueryError, match="no indexed video named 'missing.mp4'"):
            searcher.search_text("a scene", videos=["missing.mp4"])
        with pytest.raises(QueryError, match="top_k must be between 1 and 1000"):
            searcher.search_text("a scene", top_k=0)
        with pytest.raises(QueryError, match="empty query"):
            searcher.search_text("  ")


def test_bad_files_fail_alone_and_leave_the_index_intact(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    path, _ = standard_video
    with IndexStore(home) as store:
        Ingestor(store, encoder).index_file(path)
        before = snapshot(store)
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "empty.mp4").touch()
    (folder / "notes.mp4").write_text("not a video")
    from vidsearch.testing.videos import standard_scenes, write_video

    write_video(folder / "whole.mkv", standard_scenes())
    whole = (folder / "whole.mkv").read_bytes()
    (folder / "cut.mkv").write_bytes(whole[: len(whole) // 2])
    (folder / "readme.txt").write_text("ignored: not a video extension")
    with IndexStore(home) as store:
        reports = {Path(r.path).name: r for r in Ingestor(store, encoder).index_paths([folder])}
        assert set(reports) == {"empty.mp4", "notes.mp4", "cut.mkv", "whole.mkv"}
        assert reports["whole.mkv"].status is IngestStatus.INDEXED
        for name in ("empty.mp4", "notes.mp4", "cut.mkv"):
            assert reports[name].status is IngestStatus.FAILED
            assert name in reports[name].error
        assert "truncated" in reports["cut.mkv"].error
        names = {r.name for r in store.catalog.videos()}
        assert names == {"standard.mp4", "whole.mkv"}  # the failed file left no record
        after = snapshot(store)
        assert {k: v for k, v in after.items() if k in before} == before
        # thumbnails exist only for the two indexed videos: the failed file left none
        assert len(list(store.thumbnails.root.iterdir())) == 2


def test_a_different_model_is_refused(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    path, _ = standard_video
    with IndexStore(home) as store:
        Ingestor(store, encoder).index_file(path)
    other = ClipEncoder(str(write_tiny_model(tmp_path / "other-model", seed=1)))
    with IndexStore(home) as store:
        with pytest.raises(ModelMismatchError, match="was built with model"):
            Searcher(store, other)
        with pytest.raises(ModelMismatchError):
            Ingestor(store, other)
        assert store.vectors.count() == 6


def test_changed_file_replaces_its_old_content(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]], tmp_path: Path
) -> None:
    from vidsearch.testing.videos import Scene, SceneKind, write_video

    path = tmp_path / "film.mp4"
    shutil.copy(standard_video[0], path)
    with IndexStore(home) as store:
        Ingestor(store, encoder).index_file(path)
        old_id = store.catalog.videos()[0].video_id
    write_video(path, [Scene(SceneKind.TEXTURE, 50, color=5)])  # same path, new content
    with IndexStore(home) as store:
        report = Ingestor(store, encoder).index_file(path)
        assert report.status is IngestStatus.INDEXED
        records = store.catalog.videos()
        assert [r.name for r in records] == ["film.mp4"]
        assert records[0].video_id != old_id
        assert store.vectors.count(old_id) == 0
        assert store.vectors.count() == records[0].frames
