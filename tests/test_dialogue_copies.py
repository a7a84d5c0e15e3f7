"""A byte-identical copy of an indexed video never takes its subtitles away; it may add its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from test_subtitles import srt_of
from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.encoders import ClipEncoder
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor, IngestStatus
from vidsearch.search import Searcher
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.types import SearchMode

FPS = 25
ORIGINAL_LINE = (0.5, 2.0, "Where is the lighthouse?")
COPY_LINE = (3.5, 5.0, "The harbour lights are blue.")


def lines_found(store: IndexStore, encoder: ClipEncoder, dialogue: DialogueEncoder, query: str):
    searcher = Searcher(store, encoder, dialogue=dialogue)
    result = searcher.search_text(query, mode=SearchMode.DIALOGUE, videos=["scenes_a.mp4"])
    return [line.text for m in result.moments for line in m.dialogue]


@pytest.fixture()
def original(tmp_path: Path) -> Path:
    folder = tmp_path / "films"
    folder.mkdir()
    film = folder / "scenes_a.mp4"
    write_video(film, [Scene(SceneKind.TEXTURE, 2 * FPS, color=c) for c in range(3)], fps=FPS)
    (folder / "scenes_a.en.srt").write_text(srt_of(ORIGINAL_LINE), encoding="utf-8")
    return film


def test_a_copy_without_subtitles_keeps_the_original_entry_and_its_cues(
    tmp_path: Path, original: Path, encoder: ClipEncoder, tiny_sentence_model: Path
) -> None:
    copy = tmp_path / "elsewhere" / "scenes_a.mp4"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    dialogue = DialogueEncoder(str(tiny_sentence_model))
    with IndexStore(tmp_path / "home") as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue)
        assert ingestor.index_file(original).cues == 1
        report = ingestor.index_file(copy)
        assert report.status is IngestStatus.SKIPPED and report.name == "scenes_a.mp4"
        [record] = store.catalog.videos()
        assert record.path == str(original)  # the entry stays with the original
        assert lines_found(store, encoder, dialogue, '"lighthouse"') == [ORIGINAL_LINE[2]]
        # indexing the original again changes nothing either
        assert ingestor.index_file(original).status is IngestStatus.SKIPPED
        assert lines_found(store, encoder, dialogue, '"lighthouse"') == [ORIGINAL_LINE[2]]


def test_a_copy_that_brings_subtitles_adds_them(
    tmp_path: Path, original: Path, encoder: ClipEncoder, tiny_sentence_model: Path
) -> None:
    copy = tmp_path / "elsewhere" / "scenes_a.mp4"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    (copy.parent / "scenes_a.en.srt").write_text(srt_of(COPY_LINE), encoding="utf-8")
    dialogue = DialogueEncoder(str(tiny_sentence_model))
    with IndexStore(tmp_path / "home") as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue)
        ingestor.index_file(original)
        assert ingestor.index_file(copy).cues == 2
        assert lines_found(store, encoder, dialogue, '"lighthouse"') == [ORIGINAL_LINE[2]]
        assert lines_found(store, encoder, dialogue, '"harbour"') == [COPY_LINE[2]]
        ingestor.index_file(original)  # the copy is remembered: its line stays
        assert lines_found(store, encoder, dialogue, '"harbour"') == [COPY_LINE[2]]


def test_a_moved_file_follows_its_new_place(
    tmp_path: Path, original: Path, encoder: ClipEncoder, tiny_sentence_model: Path
) -> None:
    dialogue = DialogueEncoder(str(tiny_sentence_model))
    with IndexStore(tmp_path / "home") as store:
        ingestor = Ingestor(store, encoder, dialogue=dialogue)
        ingestor.index_file(original)
        moved = tmp_path / "moved"
        shutil.move(original.parent, moved)
        report = ingestor.index_file(moved / "scenes_a.mp4")
        assert report.status is IngestStatus.SKIPPED
        assert store.catalog.videos()[0].path == str(moved / "scenes_a.mp4")
        assert lines_found(store, encoder, dialogue, '"lighthouse"') == [ORIGINAL_LINE[2]]
