"""The dialogue shard behind the same guard as the frame shard: a full disk or a damaged shard
is one of our errors with a message that says what to do, the video's frames stay indexed,
and the dialogue is only a warning."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from test_subtitles import srt_of
from vidsearch.config import DataDir
from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.indexer import DialogueIndexer
from vidsearch.encoders import ClipEncoder
from vidsearch.errors import DiskFullError, IndexCorruptError, IndexError_
from vidsearch.index.dialogue_base import CuePoint
from vidsearch.index.guarded import GuardedDialogueIndex
from vidsearch.index.space import SpaceGuard
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor, IngestStatus
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.text.keywords import SparseTerms

FPS = 25
NO_ROOM = 1 << 62  # more free bytes than any disk has
LINES = [(0.5, 2.0, "Where is the key?"), (3.5, 5.0, "Tehran is far away.")]


@dataclass
class Film:
    home: Path
    path: Path
    video_id: str
    frames: int
    cues: int


@pytest.fixture(scope="module")
def dialogue(tiny_sentence_model: Path) -> DialogueEncoder:
    return DialogueEncoder(str(tiny_sentence_model))


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, encoder: ClipEncoder, dialogue: DialogueEncoder
) -> Film:
    folder = tmp_path_factory.mktemp("dialogue-shard")
    film = folder / "film.mp4"
    write_video(film, [Scene(SceneKind.TEXTURE, 3 * FPS, color=c) for c in range(2)], fps=FPS)
    (folder / "film.srt").write_text(srt_of(*LINES))
    home = folder / "home"
    with IndexStore(home) as store:
        report = Ingestor(store, encoder, dialogue=dialogue).index_file(film)
        assert report.status is IngestStatus.INDEXED and report.cues == len(LINES)
        (record,) = store.catalog.videos()
        return Film(home, film, record.video_id, store.vectors.count(), store.dialogue.count())


@pytest.fixture
def film(template: Film, tmp_path: Path) -> Iterator[Film]:
    """A fresh copy of the indexed data directory, to damage."""
    home = tmp_path / "home"
    shutil.copytree(template.home, home)
    yield Film(home, template.path, template.video_id, template.frames, template.cues)


def _cue(video_id: str, dim: int) -> CuePoint:
    vector = np.zeros(dim, np.float32)
    vector[0] = 1.0
    words = SparseTerms((1,), (1.0,))
    return CuePoint(
        video_id, 9, 20.0, 21.0, "hello", "en", "hello", 0, 0.0, 3.0, 0, 0.0, vector, words
    )


def test_the_store_hands_out_the_dialogue_shard_guarded(film: Film) -> None:
    with IndexStore(film.home) as store:
        assert isinstance(store.dialogue, GuardedDialogueIndex)
        assert store.dialogue.guard.path == DataDir(film.home).dialogue_shard
        assert store.dialogue.count(film.video_id) == film.cues


def test_cues_on_a_full_disk_are_refused_plainly_and_the_frames_stay(
    film: Film, dialogue: DialogueEncoder
) -> None:
    full = SpaceGuard(film.home, min_free_to_write=NO_ROOM)
    with IndexStore(film.home, space=full) as store:
        with pytest.raises(DiskFullError) as refused:
            store.dialogue.upsert([_cue(film.video_id, store.dialogue.dim)])
        message = str(refused.value)
        assert "not enough free disk space to add subtitle cues to the dialogue index" in message
        assert "free some space and run the command again" in message
        assert store.dialogue.count() == film.cues  # nothing written, nothing lost
        # the indexer turns it into a warning; the video's frames are untouched
        report = DialogueIndexer(store, dialogue).index_video(film.video_id, [film.path])
        assert report.cues == 0
        assert [w for w in report.warnings if "not enough free disk space" in w] == report.warnings
        assert len(report.warnings) == 1
        assert store.vectors.count(film.video_id) == film.frames
    with IndexStore(film.home) as store:  # space is back: the dialogue is indexed again
        report = DialogueIndexer(store, dialogue).index_video(film.video_id, [film.path])
        assert (report.cues, report.warnings) == (film.cues, [])
        assert store.vectors.count() == film.frames


def test_building_the_dialogue_graph_needs_room_for_a_copy(film: Film) -> None:
    tight = SpaceGuard(film.home, min_free_to_write=0)
    with IndexStore(film.home, space=tight) as store:
        assert store.dialogue.optimize(min_points=10**9) is False  # nothing to build: no check
    full = SpaceGuard(film.home, min_free_to_write=NO_ROOM)
    with IndexStore(film.home, space=full) as store:
        with pytest.raises(DiskFullError, match="to build the search graph"):
            store.dialogue.optimize(min_points=0)


def test_a_damaged_dialogue_shard_is_named_with_the_doctor_and_the_frames_stay(
    film: Film, dialogue: DialogueEncoder
) -> None:
    shard = DataDir(film.home).dialogue_shard
    (shard / "edge_config.json").write_text("{")  # Qdrant Edge no longer loads it
    with IndexStore(film.home) as store:
        with pytest.raises(IndexCorruptError) as damaged:
            store.dialogue.count()
        message = str(damaged.value)
        assert message.startswith(f"cannot open the dialogue index at {shard}")
        assert "`vidsearch doctor --repair`" in message
        report = DialogueIndexer(store, dialogue).index_video(film.video_id, [film.path])
        assert report.cues == 0 and len(report.warnings) == 1
        assert report.warnings[0].startswith("dialogue not indexed: cannot open the dialogue")
        assert store.vectors.count(film.video_id) == film.frames


def test_a_failing_dialogue_call_is_our_error_naming_the_shard(film: Film) -> None:
    with IndexStore(film.home) as store:
        index = store.dialogue
        assert isinstance(index, GuardedDialogueIndex)
        index.inner.close()  # the Edge shard is gone underneath: Qdrant Edge raises bare errors
        with pytest.raises(IndexError_) as failed:
            index.search_words(SparseTerms((1,), (1.0,)), 5)
        message = str(failed.value)
        assert f"the dialogue index at {index.guard.path} failed to search" in message
        assert "`vidsearch doctor`" in message
