"""The Airflow DAGs: they import without errors, have the expected shape, and run end to end
with the real `airflow dags test` (a temporary AIRFLOW_HOME, sqlite metadata, no scheduler)
on generated videos and a small synthetic caption world, offline."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk", reason="the airflow extra is not installed")

mlflow = pytest.importorskip("mlflow")

from typer.testing import CliRunner  # noqa: E402

from airflow_support import AirflowHome  # noqa: E402
from data_support import FakeServer, Reply, Request  # noqa: E402
from train_support import write_small_world  # noqa: E402
from vidsearch.cli import app  # noqa: E402
from vidsearch.data.dataset import Dataset  # noqa: E402
from vidsearch.data.shapes import render_caption  # noqa: E402
from vidsearch.index.store import IndexStore  # noqa: E402
from vidsearch.pipelines.candidate import evaluate_candidate, promote  # noqa: E402
from vidsearch.testing.videos import Scene, SceneKind, write_video  # noqa: E402

pytestmark = pytest.mark.slow
CLIP_TASKS = (
    "import_captions",
    "translate",
    "filter_captions",
    "crawl",
    "merge",
    "train",
    "evaluate",
    "promote",
)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    """One migrated Airflow home for the module's DAG runs."""
    home = AirflowHome(tmp_path_factory.mktemp("airflow"))
    home.migrate()
    return home


def test_dags_import_and_shape(airflow: AirflowHome) -> None:
    parsed = airflow.structure()
    assert parsed["errors"] == {}
    dags = parsed["dags"]
    assert set(dags) == {"persian_clip", "video_ingest"}

    ingest = dags["video_ingest"]["tasks"]
    assert ingest["discover"]["downstream"] == ["index_video", "refresh_stats"]
    assert ingest["index_video"]["mapped"] is True
    assert ingest["index_video"]["downstream"] == ["all_indexed", "refresh_stats"]
    # the embedded index belongs to one process: one video at a time, retried when held
    assert ingest["index_video"]["max_active_tis_per_dagrun"] == 1
    assert ingest["index_video"]["retries"] >= 1
    assert ingest["refresh_stats"]["trigger_rule"] == "all_done"
    assert ingest["all_indexed"]["trigger_rule"] == "all_success"
    assert dags["video_ingest"]["max_active_runs"] == 1

    clip = dags["persian_clip"]["tasks"]
    chain = {
        "import_captions": ["translate"],
        "translate": ["filter_captions"],
        "filter_captions": ["merge"],
        "crawl": ["merge"],
        "merge": ["evaluate", "train"],
        "train": ["evaluate", "promote"],
        "evaluate": ["promote"],
        "promote": [],
    }
    assert {task: info["downstream"] for task, info in clip.items()} == chain
    assert clip["merge"]["trigger_rule"] == "none_failed"  # runs when crawl is skipped

    params = dags["persian_clip"]["params"]
    assert params["translate_backend"]["enum"] == [None, "http", "local", "dictionary", "none"]
    assert params["train_config"]["type"] == ["null", "object", "string"]
    assert "vidsearch_tracking_uri" in params["tracking_uri"]["description"]
    ingest_params = dags["video_ingest"]["params"]
    assert ingest_params["sources"]["type"] == ["null", "array"]
    assert "VIDSEARCH_HOME" in ingest_params["home"]["description"]
    assert "qdrant_api_key" not in ingest_params  # a secret: a Variable, never a param

    # with a Qdrant server the videos may be indexed at once, on as many workers as there are
    served = airflow.structure(env={"VIDSEARCH_QDRANT_URL": "http://127.0.0.1:6333"})
    assert (
        served["dags"]["video_ingest"]["tasks"]["index_video"]["max_active_tis_per_dagrun"] is None
    )


def _scenes(colour: int) -> list[Scene]:
    return [Scene(SceneKind.TEXTURE, 25, color=colour), Scene(SceneKind.STATIC, 25, colour + 1)]


def test_video_ingest_end_to_end(airflow: AirflowHome, tmp_path: Path, tiny_model: Path) -> None:
    watched = tmp_path / "watched"
    for number, name in enumerate(("a.mp4", "b.mp4")):
        write_video(watched / name, _scenes(2 * number), size=(96, 64))
    bad = watched / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    served = tmp_path / "served.mp4"
    write_video(served, _scenes(4), size=(96, 64))
    video = served.read_bytes()
    home = tmp_path / "home"

    def site(request: Request) -> Reply:
        return Reply(200, video) if request.path == "/films/c.mp4" else Reply(404, b"")

    conf = {"folder": str(watched), "settle_seconds": 0, "model": str(tiny_model)}
    env = {"AIRFLOW_VAR_VIDSEARCH_HOME": str(home), "VIDSEARCH_BACKEND": "torch"}
    with FakeServer(site) as server:
        sources = {"sources": [f"{server.url}/films/c.mp4"]}
        first = airflow.dags_test("video_ingest", conf | sources, env=env)
        first_states = airflow.states("video_ingest")
        found = airflow.xcom("video_ingest", "discover")
        labels = airflow.map_labels("video_ingest", "index_video")
        stats = airflow.xcom("video_ingest", "refresh_stats")
        with IndexStore(home) as store:
            videos = {v.name: v for v in store.catalog.videos()}
            points = store.vectors.count()

        # the broken file is taken away: a rerun finds nothing new and changes nothing
        bad.unlink()
        second = airflow.dags_test("video_ingest", conf | sources, env=env)
        assert server.paths() == ["/films/c.mp4"], "a staged URL is not downloaded again"

    assert first.returncode != 0, "a failed video fails the run"
    assert sorted(Path(s).name for s in found) == ["a.mp4", "b.mp4", "bad.mp4", "c.mp4"]
    assert labels == [Path(s).name for s in found]  # what the UI shows for each video
    by_source = {found[i]: first_states[("index_video", i)] for i in range(len(found))}
    assert by_source[str(bad)] == ("failed", 1), "a corrupt file is not retried"
    assert all(state == "success" for s, (state, _) in by_source.items() if s != str(bad))
    assert first_states[("discover", -1)][0] == "success"
    assert first_states[("refresh_stats", -1)][0] == "success"
    assert first_states[("all_indexed", -1)][0] == "upstream_failed"
    assert "bad.mp4" in first.stdout and "MediaError" in first.stdout

    assert stats["complete"] == 3 and stats["incomplete"] == []
    assert stats["failed_now"] == [str(bad)]
    names = set(stats["indexed_now"])
    staged = [n for n in names if n.endswith("-c.mp4")]  # the URL's file: <URL hash>-c.mp4
    assert len(staged) == 1 and names - set(staged) == {"a.mp4", "b.mp4"}
    assert set(videos) == names and all(v.complete for v in videos.values())
    assert points == stats["points"] == sum(v.frames for v in videos.values()) > 0

    assert second.returncode == 0, second.stdout[-3000:]
    assert airflow.xcom("video_ingest", "discover") == []
    states = airflow.states("video_ingest")
    assert states[("index_video", -1)][0] == "skipped"
    assert states[("refresh_stats", -1)][0] == "success"
    indexed_at = {name: v.indexed_at for name, v in videos.items()}
    with IndexStore(home) as store:
        assert {v.name: v.indexed_at for v in store.catalog.videos()} == indexed_at


def _karpathy(world: Path, target: Path) -> tuple[Path, Path]:
    """The shapes world's images and English captions as Flickr30k's Karpathy split file."""
    images = target / "images"
    images.mkdir(parents=True)
    splits = {"train": "train", "validation": "val", "test": "test"}
    entries = []
    with Dataset.open(world) as dataset:
        for image in dataset.images():
            shutil.copyfile(dataset.image_path(image.image_id), images / f"{image.image_id}.jpg")
            sentences = [
                {"raw": c.caption}
                for c in dataset.captions(language="en")
                if c.image_id == image.image_id
            ]
            entries.append(
                {
                    "filename": f"{image.image_id}.jpg",
                    "split": splits[image.split],
                    "sentences": sentences,
                }
            )
    captions = target / "dataset_flickr30k.json"
    captions.write_text(json.dumps({"images": entries}))
    return captions, images


class Classifieds:
    """A listing API on 127.0.0.1: two pages of posts with Persian titles and their images."""

    TITLES = (
        "دایره قرمز در وسط",
        "مربع آبی در بالا سمت چپ",
        "مثلث زرد در پایین سمت راست",
        "دایره سبز در بالا سمت راست",
        "مربع سفید در وسط",
        "مثلث قرمز در بالا سمت چپ",
    )

    def __init__(self) -> None:
        self.images = {}
        for number, title in enumerate(self.TITLES):
            buffer = io.BytesIO()
            render_caption(title, size=64, seed=number).save(buffer, format="JPEG")
            self.images[f"/img/{number}.jpg"] = buffer.getvalue()

    def __call__(self, request: Request) -> Reply:
        if request.path == "/api/posts":
            page = int(request.query.get("page", "1"))
            numbers = range(3 * (page - 1), min(3 * page, len(self.TITLES)))
            posts = [
                {"id": f"p{n}", "title": self.TITLES[n], "image_url": f"/img/{n}.jpg"}
                for n in numbers
            ]
            return Reply(200, {"items": posts})
        if request.path in self.images:
            return Reply(200, self.images[request.path])
        return Reply(404, b"")


def test_persian_clip_end_to_end(
    airflow: AirflowHome, tmp_path: Path, tiny_model: Path, tiny_sentence_model: Path
) -> None:
    captions, images = _karpathy(write_small_world(tmp_path / "world"), tmp_path / "flickr")
    workdir = tmp_path / "work"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    train_config = {
        "kind": "text",
        "name": "pipeline-fa",
        "bundle": str(tiny_model),
        "data": {"language": "fa"},
        "text": {"model": "scratch", "max_length": 32, "hidden": 32, "heads": 2, "vocab_size": 120},
        "optim": {"epochs": 2, "batch_size": 16, "lr": 2e-3, "head_lr": 2e-3, "threads": 1},
    }
    env = {
        "AIRFLOW_VAR_VIDSEARCH_WORKDIR": str(workdir),
        "AIRFLOW_VAR_VIDSEARCH_TRACKING_URI": tracking,
        "VIDSEARCH_BACKEND": "torch",
    }
    with FakeServer(Classifieds()) as site:
        conf = {
            "captions_format": "flickr30k",
            "captions_file": str(captions),
            "images_dir": str(images),
            "translate_backend": "dictionary",
            "filter_encoder": str(tiny_sentence_model),
            "filter_top_fraction": 0.9,
            "crawl": {
                "endpoint": f"{site.url}/api/posts",
                "name": "divar",
                "rate": None,
                "split": "train",
            },
            "train_config": train_config,
            "eval_rounds": 200,
        }
        run = airflow.dags_test("persian_clip", conf, env=env)
    assert run.returncode == 0, run.stdout[-4000:]
    states = airflow.states("persian_clip")
    assert {task for task, _ in states} == set(CLIP_TASKS)
    assert all(state == "success" for state, _ in states.values()), states

    with Dataset.open(workdir / "train") as merged:
        counts = merged.counts()
        translations = list(
            merged.captions(language="fa", source="flickr30k+mt", include_rejected=True)
        )
    assert counts["images_by_source"] == {"flickr30k": 60, "divar": 6}
    assert translations and all(c.translator == "dictionary:shapes" for c in translations)
    assert all(c.similarity is not None for c in translations)
    rejected = [c for c in translations if not c.keep]
    assert 0 < len(rejected) == counts["rejected_translations"] < len(translations) / 4
    assert counts["captions_by_source"]["divar"] == 6

    candidate = airflow.xcom("persian_clip", "train")
    decision = airflow.xcom("persian_clip", "evaluate")
    promoted = airflow.xcom("persian_clip", "promote")
    assert decision["better"] is True and decision["incumbent"] is None
    assert decision["metric"] == "text_to_image R@5" and decision["incumbent_value"] is None
    assert Path(decision["report_file"]).is_file()
    assert promoted["promoted"] is True and promoted["version"] == "1"
    assert promoted["reference"] == "models:/vidsearch-fa@champion"
    client = mlflow.MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    champion = client.get_model_version_by_alias("vidsearch-fa", "champion")
    assert str(champion.version) == "1" and champion.run_id == candidate["run_id"]
    assert client.get_run(candidate["run_id"]).info.status == "FINISHED"
    assert "best/val/recall_at_1" in client.get_run(candidate["run_id"]).data.metrics
    assert {f.path for f in client.list_artifacts(candidate["run_id"], "bundle")} >= {
        "bundle/bundle.json"
    }

    # a candidate no better than the champion (its very weights, another run) leaves the alias
    same = candidate | {"run_id": "0" * 32}
    decision = evaluate_candidate(
        candidate=same,
        dataset=str(workdir / "train"),
        rounds=200,
        champions=str(workdir / "champions"),
        settings={"backend": "torch"},
    )
    assert decision["better"] is False
    assert decision["incumbent"] == "models:/vidsearch-fa@champion"

    # the lightweight path: train → evaluate → promote as one command, no Airflow
    config_file = tmp_path / "fa.json"
    config_file.write_text(json.dumps(train_config | {"seed": 1}))
    args = ["pipelines", "candidate", str(config_file), "--dataset", str(workdir / "train")]
    args += ["--output", str(tmp_path / "cli-run"), "--tracking-uri", tracking, "--rounds", "200"]
    result = CliRunner().invoke(app, args, env={"VIDSEARCH_BACKEND": "torch"})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["candidate"]["run_id"] not in (None, candidate["run_id"])
    assert report["evaluation"]["incumbent"] == "models:/vidsearch-fa@champion"
    assert report["promotion"]["promoted"] is report["evaluation"]["better"]
    holder = client.get_model_version_by_alias("vidsearch-fa", "champion")
    assert str(holder.version) == report["promotion"].get("version", "1")
    assert decision["candidate_value"] == decision["incumbent_value"]
    assert promote(candidate=same, evaluation=decision)["promoted"] is False
    # the alias stays where it was before: version 1, or the CLI run's if that was better
    champion_now = client.get_model_version_by_alias("vidsearch-fa", "champion")
    assert str(champion_now.version) == str(holder.version)
    assert len(client.search_model_versions("name = 'vidsearch-fa'")) == 1
