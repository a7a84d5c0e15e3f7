"""Moment evaluation on generated videos with known spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.evaluation.dialogue import Target
from vidsearch.evaluation.errors import EvaluationError
from vidsearch.evaluation.moments import MomentQuery, Sampling, evaluate_moments, load_queries
from vidsearch.testing.toy_encoders import ColourEncoder
from vidsearch.testing.videos import Scene, SceneKind, write_video

FPS = 25
COLOURS = ["red", "green", "blue", "yellow"]


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[MomentQuery]]:
    """Two films of four 2-second scenes, one colour each, in another order per film."""
    folder = tmp_path_factory.mktemp("films")
    queries: dict[int, list[Target]] = {c: [] for c in range(len(COLOURS))}
    for v, order in enumerate([[0, 1, 2, 3], [2, 3, 0, 1]]):
        scenes = [Scene(SceneKind.TEXTURE, 2 * FPS, color=c) for c in order]
        spans = write_video(folder / f"film{v}.mp4", scenes, fps=FPS, seed=v)
        for span in spans:
            queries[span.scene.color].append(Target(f"film{v}.mp4", span.start, span.end))
    rows = [
        {"query": f"a {COLOURS[c]} scene",
         "spans": [{"video": t.video, "start": t.start, "end": t.end} for t in targets]}
        for c, targets in queries.items()
    ]  # fmt: skip
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return folder, load_queries(folder / "queries.jsonl")


def test_known_spans_are_found_at_iou_half(films, tmp_path: Path) -> None:
    folder, queries = films
    videos = sorted(folder.glob("*.mp4"))
    result = evaluate_moments(videos, queries, ColourEncoder(), tmp_path / "a", ks=(1, 2))
    report = result.to_json()
    assert report["recall"] == {"R@1": 1.0, "R@2": 1.0}
    assert report["located"] == 4 and report["mean_time_error"] == 0.0
    coarse = evaluate_moments(
        videos,
        queries,
        ColourEncoder(),
        tmp_path / "b",
        sampling=Sampling(interval=5.0, shots=False),
    )
    # without shots, frames every 5 s: moments no longer line up with the 2 s scenes
    assert coarse.to_json()["recall"]["R@1"] < 1.0
    assert coarse.frames < result.frames


def test_queries_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps([{"query": "x", "spans": [{"video": "a.mp4", "start": 2}]}]))
    with pytest.raises(EvaluationError, match="spans"):
        load_queries(path)
    path.write_text(json.dumps([{"query": "x", "spans": [{"video": "a", "start": 2, "end": 1}]}]))
    with pytest.raises(EvaluationError, match="empty span"):
        load_queries(path)


def test_cli_writes_reports(films, tiny_model: Path, tmp_path: Path) -> None:
    folder, _ = films
    args = ["eval", "moments", "--videos", str(folder), "--queries", str(folder / "queries.jsonl")]
    args += ["--model", str(tiny_model), "--backend", "torch", "--interval", "1", "--interval", "4"]
    args += ["--out", str(tmp_path / "out"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["sampling"]["interval"] for r in report["results"]] == [1.0, 4.0]
    assert set(report["results"][0]["recall"]) == {"R@1", "R@5", "R@10"}
    assert "data:image/png;base64," in (tmp_path / "out" / "moments.html").read_text()
