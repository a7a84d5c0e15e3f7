"""Search that answers: a query the frames' model cannot read is answered by the subtitles, and
every mode scores moments on one 0-1 scale that `min_score` cuts."""

from __future__ import annotations

from pathlib import Path

import pytest

import vidsearch
from test_subtitles import srt_of
from vidsearch.errors import QueryError
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.types import SearchMode

FPS = 25
LINES = [
    (0.5, 2.0, "Where is the blue lighthouse?"),
    (3.5, 5.0, "The harbour is closed tonight."),
    (6.5, 8.0, "من می‌خواهم به خانه برگردم"),
]


@pytest.fixture(scope="module")
def library_home(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_sentence_model: Path
) -> Path:
    folder = tmp_path_factory.mktemp("answers")
    film = folder / "film.mp4"
    write_video(film, [Scene(SceneKind.TEXTURE, 3 * FPS, color=c) for c in range(4)], fps=FPS)
    (folder / "film.srt").write_text(srt_of(*LINES), encoding="utf-8")
    home = folder / "home"
    with open_library(home, tiny_model, tiny_sentence_model) as library:
        [report] = library.index([film]).videos
        assert report.cues == 3
    return home


def open_library(home: Path, model: Path, sentences: Path) -> vidsearch.Library:
    return vidsearch.open(
        home=home, model=str(model), dialogue_model=str(sentences), workers=1, qdrant_url=None
    )


def test_a_persian_query_on_an_english_bundle_is_answered_by_the_subtitles(
    library_home: Path, tiny_model: Path, tiny_sentence_model: Path
) -> None:
    with open_library(library_home, tiny_model, tiny_sentence_model) as library:
        result = library.search("من می خواهم برگردم")
        assert result.mode is SearchMode.TEXT and result.encoder is None
        [note] = result.notes
        assert note.startswith("frames were not searched: ") and "Persian (fa)" in note
        assert "cannot read" in note
        assert result.to_json()["notes"] == [note]
        best = result.moments[0]
        assert best.dialogue[0].text == LINES[2][2] and best.why == "subtitle"
        # asked for frames only, the refusal stands: nothing else could answer
        with pytest.raises(QueryError, match="cannot read Persian"):
            library.search("من می خواهم برگردم", mode=SearchMode.VISUAL)


def test_every_mode_scores_between_0_and_1_and_min_score_cuts_them_all(
    library_home: Path, tiny_model: Path, tiny_sentence_model: Path
) -> None:
    with open_library(library_home, tiny_model, tiny_sentence_model) as library:
        # every mode this index has lines for (subtitles only: no text on screen)
        for mode in (m for m in SearchMode if m is not SearchMode.SCREEN):
            result = library.search("the blue lighthouse", mode=mode, top_k=10)
            scores = [m.score for m in result.moments]
            assert scores and all(0 < s <= 1 for s in scores), (mode, scores)
            assert scores == sorted(scores, reverse=True)
            middle = sorted(scores)[len(scores) // 2] - 1e-6  # the vectors are float32
            cut = library.search("the blue lighthouse", mode=mode, top_k=10, min_score=middle)
            assert [m.score for m in cut.moments] == [s for s in scores if s >= middle], mode
            assert len(cut.moments) < len(scores) or len(set(scores)) == 1
        hybrid = library.search("the blue lighthouse", mode=SearchMode.HYBRID, top_k=10)
        assert hybrid.moments[0].score <= 1.0  # the best fused window, not a sum of channels


def test_the_cli_says_once_what_was_not_searched(
    library_home: Path, tiny_model: Path, tiny_sentence_model: Path
) -> None:
    from typer.testing import CliRunner

    from vidsearch.cli import app

    env = {"VIDSEARCH_DIALOGUE_MODEL": str(tiny_sentence_model), "VIDSEARCH_WORKERS": "1"}
    args = ["search", "من می خواهم برگردم", "--home", str(library_home), "--model", str(tiny_model)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("note: frames were not searched") == 1
    assert LINES[2][2] in result.stdout
    as_json = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert '"notes"' in as_json.stdout and "note:" not in as_json.stderr
