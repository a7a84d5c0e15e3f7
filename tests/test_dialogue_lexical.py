"""Subtitles are indexed for their words and phrases even when the sentence encoder cannot be
loaded: the cues are stored in a words-only dialogue index (no `meaning` vector), the run says
once which part is missing and which setting adds it, the frames are untouched, and a later run
with the encoder rebuilds the index with the meaning. On the embedded shard and on the Qdrant
server backend (qdrant-client's local mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from test_subtitles import srt_of
from vidsearch.config import DataDir
from vidsearch.dialogue.encoder import DialogueEncoder
from vidsearch.dialogue.indexer import META_SIGNATURE, UPGRADED, WORDS_ONLY, DialogueIndexer
from vidsearch.encoders import ClipEncoder
from vidsearch.errors import IndexError_
from vidsearch.index.dialogue_base import WORDS_ONLY_DIM, CuePoint
from vidsearch.index.dialogue_edge import EdgeDialogueIndex
from vidsearch.index.doctor import examine
from vidsearch.index.qdrant_connection import QdrantConnection
from vidsearch.index.store import IndexStore
from vidsearch.ingest import Ingestor, IngestReport, IngestStatus
from vidsearch.search import read_query
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.text.keywords import SparseTerms

pytestmark = pytest.mark.filterwarnings(
    "ignore:Payload indexes have no effect in the local Qdrant:UserWarning"
)

FPS = 25
FILMS = {
    "harbour.mp4": [(0.5, 2.0, "The harbour gate is locked."), (3.5, 5.0, "Bring the lantern.")],
    "desert.mp4": [(0.5, 2.0, "She will never come back."), (3.5, 5.0, "Water for the camels.")],
}
SETTING = "VIDSEARCH_DIALOGUE_MODEL"


@dataclass
class Library:
    folder: Path
    films: list[Path]
    open_store: Callable[[], IndexStore]


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("lexical-films")
    paths = []
    for number, (name, lines) in enumerate(FILMS.items()):
        path = folder / name
        scenes = [Scene(SceneKind.TEXTURE, 3 * FPS, color=number * 2 + c) for c in range(2)]
        write_video(path, scenes, fps=FPS)
        path.with_suffix(".srt").write_text(srt_of(*lines))
        paths.append(path)
    return folder, paths


@pytest.fixture(params=["edge", "server"])
def library(
    request: pytest.FixtureRequest, tmp_path: Path, films: tuple[Path, list[Path]]
) -> Iterator[Library]:
    folder, paths = films
    home = tmp_path / "home"
    if request.param == "edge":
        yield Library(folder, paths, lambda: IndexStore(home))
    else:
        storage = tmp_path / "qdrant"
        yield Library(
            folder, paths, lambda: IndexStore(home, server=QdrantConnection.open(path=storage))
        )


def _index(library: Library, encoder: ClipEncoder, dialogue: DialogueEncoder) -> list[IngestReport]:
    with library.open_store() as store:
        return list(Ingestor(store, encoder, dialogue=dialogue).index_paths(library.films))


def _warnings(reports: list[IngestReport]) -> list[str]:
    return [w for r in reports for w in r.warnings]


def _words(dialogue: DialogueEncoder, text: str) -> SparseTerms:
    return dialogue.query_words(read_query(text).for_words)


def test_without_the_sentence_encoder_the_cues_are_searchable_by_words_and_phrases(
    library: Library, encoder: ClipEncoder, tiny_sentence_model: Path
) -> None:
    missing = library.folder / "no-such-sentence-model"
    offline = DialogueEncoder(str(missing))
    reports = _index(library, encoder, offline)
    assert [r.status for r in reports] == [IngestStatus.INDEXED] * 2
    assert [r.cues for r in reports] == [2, 2]
    (warning,) = _warnings(reports)  # once a run, not once a video
    assert warning.startswith(
        "lines (subtitles, speech, screen text) indexed for their words and phrases only"
    )
    assert SETTING in warning and str(missing) in warning
    assert "--model" not in warning and "VIDSEARCH_MODEL " not in warning
    with library.open_store() as store:
        # the frames are all there, as without subtitles
        assert store.vectors.count() == sum(r.frames for r in reports) > 0
        assert store.has_dialogue and not store.dialogue_has_meaning
        index = store.dialogue
        assert (index.dim, index.count()) == (WORDS_ONLY_DIM, 4)
        hits = index.search_words(_words(offline, "lantern"), 5)
        assert [h.text for h in hits] == ["Bring the lantern."]
        phrase = index.search_words(
            _words(offline, "never come back"), 5, phrases=["never come back"]
        )
        assert [h.text for h in phrase] == ["She will never come back."]
        assert index.search_words(_words(offline, "back come"), 5, phrases=["back come"]) == []
        assert index.search_meaning(np.ones(8, np.float32), 5) == []  # no meaning: no hits

    # a run still without it reads one video again (that tries the encoder), says so once
    again = _index(library, encoder, DialogueEncoder(str(missing)))
    assert [r.status for r in again] == [IngestStatus.SKIPPED] * 2
    assert [r.cues for r in again] == [2, 0] and len(_warnings(again)) == 1

    # a run with the encoder rebuilds the index with the meaning of every line
    dialogue = DialogueEncoder(str(tiny_sentence_model))
    upgraded = _index(library, encoder, dialogue)
    assert [r.status for r in upgraded] == [IngestStatus.SKIPPED] * 2
    assert [r.cues for r in upgraded] == [2, 2]
    assert _warnings(upgraded) == [UPGRADED]
    with library.open_store() as store:
        assert store.dialogue_has_meaning and store.dialogue_model_ref == str(tiny_sentence_model)
        index = store.dialogue
        assert (index.dim, index.count()) == (dialogue.dim, 4)
        for line in ("The harbour gate is locked.", "Water for the camels."):
            vector = dialogue.embed([line], ["en"])[0]
            assert index.search_meaning(vector, 1)[0].text == line  # the same text: cosine 1
        assert [h.text for h in index.search_words(_words(dialogue, "lantern"), 5)] == [
            "Bring the lantern."
        ]
        assert store.vectors.count() == sum(r.frames for r in reports)
    # and then nothing is read again
    settled = _index(library, encoder, DialogueEncoder(str(tiny_sentence_model)))
    assert [r.cues for r in settled] == [0, 0] and _warnings(settled) == []


def test_a_video_met_while_the_encoder_is_missing_gets_its_meaning_later(
    library: Library, encoder: ClipEncoder, tiny_sentence_model: Path
) -> None:
    """An index that has sentence vectors keeps them; the new video's cues go in by their
    words, and are embedded on the next run that loads the encoder (no rebuild)."""
    first, second = library.films
    dialogue = DialogueEncoder(str(tiny_sentence_model))
    with library.open_store() as store:
        assert Ingestor(store, encoder, dialogue=dialogue).index_file(first).cues == 2
    offline = DialogueEncoder(str(library.folder / "gone"))
    with library.open_store() as store:
        report = Ingestor(store, encoder, dialogue=offline).index_file(second)
        assert report.cues == 2 and len(report.warnings) == 1 and SETTING in report.warnings[0]
        assert store.dialogue.dim == dialogue.dim  # still the full index
        assert store.dialogue.count() == 4
        words = store.dialogue.search_words(_words(dialogue, "camels"), 5)
        assert [h.text for h in words] == ["Water for the camels."]
        vector = dialogue.embed(["Water for the camels."], ["en"])[0]
        assert "Water for the camels." not in [
            h.text for h in store.dialogue.search_meaning(vector, 10)
        ]
        video_id = report_video_id(store, second)
        assert store.catalog.get_meta(META_SIGNATURE + video_id).startswith(WORDS_ONLY)
    reports = _index(library, encoder, DialogueEncoder(str(tiny_sentence_model)))
    assert [r.cues for r in reports] == [0, 2] and _warnings(reports) == []  # no rebuild
    with library.open_store() as store:
        assert store.dialogue.count() == 4
        assert store.dialogue.search_meaning(vector, 1)[0].text == "Water for the camels."


def report_video_id(store: IndexStore, path: Path) -> str:
    (record,) = [r for r in store.catalog.videos() if r.path == str(path)]
    return record.video_id


def test_a_rebuild_interrupted_after_the_shard_went_loses_nothing_that_is_not_read_again(
    tmp_path: Path, films: tuple[Path, list[Path]], encoder: ClipEncoder, tiny_sentence_model: Path
) -> None:
    """The words-only shard goes before the catalog names the new encoder: an interruption in
    between leaves a words-only index without a shard, whose videos are all read again."""
    _, paths = films
    home = tmp_path / "home"
    offline = DialogueEncoder(str(tmp_path / "gone"))
    with IndexStore(home) as store:
        reports = list(Ingestor(store, encoder, dialogue=offline).index_paths(paths))
        assert sum(r.cues for r in reports) == 4
    assert examine(home).healthy  # the doctor reads a words-only shard as any other
    shard = DataDir(home).dialogue_shard
    shard.rename(shard.with_name("dialogue.dropped"))  # renamed, not yet deleted: interrupted
    with IndexStore(home) as store:
        assert store.dialogue.count() == 0 and not store.dialogue_has_meaning
        dialogue = DialogueEncoder(str(tiny_sentence_model))
        reports = list(Ingestor(store, encoder, dialogue=dialogue).index_paths(paths))
        assert [r.cues for r in reports] == [2, 2]
        assert store.dialogue.count() == 4 and store.dialogue.dim == dialogue.dim
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("dialogue")) == ["dialogue"]


def _cue(index: int, vector: np.ndarray | None) -> CuePoint:
    words = SparseTerms((7,), (1.0,))
    return CuePoint("v", index, float(index), index + 1.0, "hi", "en", "hi", 0, 0.0, 9.0, None,
                    None, vector, words)  # fmt: skip


def test_a_words_only_shard_takes_no_sentence_vector_and_is_not_opened_as_a_full_one(
    tmp_path: Path,
) -> None:
    edge = EdgeDialogueIndex(tmp_path / "words", WORDS_ONLY_DIM)
    edge.upsert([_cue(0, None)])
    assert edge.count() == 1 and len(edge.search_words(SparseTerms((7,), (1.0,)), 5)) == 1
    with pytest.raises(IndexError_, match="words-only"):
        edge.upsert([_cue(1, np.ones(4, np.float32))])
    edge.close()
    with pytest.raises(IndexError_, match="holds no sentence vectors, not 4-d sentence vectors"):
        EdgeDialogueIndex(tmp_path / "words", 4)
    full = EdgeDialogueIndex(tmp_path / "full", 4)
    full.upsert([_cue(0, None), _cue(1, np.array([1, 0, 0, 0], np.float32))])
    assert [h.start for h in full.search_meaning(np.array([1, 0, 0, 0], np.float32), 5)] == [1.0]
    full.close()
    with pytest.raises(IndexError_, match="holds 4-d sentence vectors, not no sentence"):
        EdgeDialogueIndex(tmp_path / "full", WORDS_ONLY_DIM)
    with QdrantConnection.open(path=":memory:") as connection:
        server = connection.dialogue(WORDS_ONLY_DIM)
        server.upsert([_cue(0, None)])
        assert server.search_meaning(np.ones(4, np.float32), 5) == []
        with pytest.raises(IndexError_, match="holds no 'meaning' vectors, not 4-d"):
            connection.dialogue(4)
        connection.drop_dialogue()
        assert connection.dialogue(4).count() == 0


def test_the_indexer_tries_the_encoder_once_a_run(
    tmp_path: Path, films: tuple[Path, list[Path]], encoder: ClipEncoder
) -> None:
    opened: list[str] = []

    def failing(ref: str):
        from vidsearch.errors import ModelError

        opened.append(ref)
        raise ModelError(f"model '{ref}' cannot be loaded")

    _, paths = films
    with IndexStore(tmp_path / "home") as store:
        dialogue = DialogueEncoder("some/model", open_encoder=failing)
        indexer = DialogueIndexer(store, dialogue)
        Ingestor(store, encoder, dialogue=None).index_file(paths[0])
        Ingestor(store, encoder, dialogue=None).index_file(paths[1])
        reports = [indexer.index_video(r.video_id, [Path(r.path)]) for r in store.catalog.videos()]
        assert [r.cues for r in reports] == [2, 2]
        assert opened == ["some/model"]
        assert [len(r.warnings) for r in reports] == [1, 0]
