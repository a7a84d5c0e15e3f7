"""MLflow tracking to a local sqlite store: params, per-step metrics, the bundle artifact, the
registry (a better run takes the alias, a worse one does not), a resumed run continuing its
MLflow run, and `models:/` references opened by search, from the library and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from train_support import InterruptAt, Interrupted, options, text_config, write_small_world
from vidsearch.cli import app
from vidsearch.encoders.model_bundle import open_bundle
from vidsearch.errors import ConfigError
from vidsearch.train.runner import TrainResult, train

mlflow = pytest.importorskip("mlflow")

NAME = "vidsearch-fa"
QUERY_FA = "مربع آبی در وسط"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_world(tmp_path_factory.mktemp("tracking") / "world")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One sqlite tracking store and artifact folder for the module (creating one takes s)."""
    root = tmp_path_factory.mktemp("mlflow")
    return {
        "tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
        "artifact_location": (root / "artifacts").as_uri(),
    }


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tracking-cache")


@pytest.fixture(scope="module")
def champion(
    world: Path,
    tiny_model: Path,
    store: dict[str, str],
    cache: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> TrainResult:
    """A run that learns the training captions (validated on them, so it surely beats an
    untrained run), tracked and registered."""
    config = text_config(
        tmp_path_factory.mktemp("runs") / "good",
        world,
        tiny_model,
        data={"validation_split": "train"},
        optim={"epochs": 4},
        mlflow=store | {"experiment": "fa", "registered_model": NAME},
    )
    return train(config, encoder_options=options(cache))


def _client(store: dict[str, str]):
    return mlflow.MlflowClient(tracking_uri=store["tracking_uri"])


def test_the_run_is_tracked_and_registered(champion: TrainResult, store: dict[str, str]) -> None:
    client = _client(store)
    run = client.get_run(champion.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["optim.epochs"] == "4" and params["text.model"] == "scratch"
    assert params["data.validation_split"] == "train" and params["kind"] == "text"
    losses = client.get_metric_history(champion.run_id, "train/loss")
    assert [m.step for m in losses] == list(range(1, champion.steps + 1))
    recall = client.get_metric_history(champion.run_id, "val/recall_at_1")
    assert len(recall) == 5  # before training, then every epoch
    assert run.data.metrics["best/val/recall_at_1"] == champion.metrics["val/recall_at_1"]
    assert champion.metrics["val/recall_at_1"] > champion.baseline["val/recall_at_1"]

    files = {a.path for a in client.list_artifacts(champion.run_id, "bundle")}
    assert {"bundle/bundle.json", "bundle/text-fa", "bundle/image", "bundle/training.json"} <= files
    version = client.get_model_version_by_alias(NAME, "champion")
    assert (str(version.version), version.run_id) == ("1", champion.run_id)
    assert champion.registered_version == "1"


def test_a_worse_run_leaves_the_champion_and_a_resumed_run_continues_its_mlflow_run(
    champion: TrainResult,
    world: Path,
    tiny_model: Path,
    store: dict[str, str],
    cache: Path,
    tmp_path: Path,
) -> None:
    config = text_config(
        tmp_path / "weak",
        world,
        tiny_model,
        data={"validation_split": "train"},
        optim={"epochs": 2, "lr": 1e-9, "head_lr": 1e-9},
        mlflow=store | {"experiment": "fa", "registered_model": NAME},
    )
    with pytest.raises(Interrupted):
        train(config, encoder_options=options(cache), callbacks=[InterruptAt(step=4)])
    client = _client(store)
    [stopped] = client.search_runs(
        [client.get_experiment_by_name("fa").experiment_id],
        "attributes.status = 'FAILED'",
    )
    weak = train(config, encoder_options=options(cache))
    assert weak.resumed and weak.run_id == stopped.info.run_id
    assert client.get_run(weak.run_id).info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(weak.run_id, "train/loss")]
    assert sorted(set(steps)) == list(range(1, weak.steps + 1))  # both invocations, one run
    assert weak.metrics["val/recall_at_1"] < champion.metrics["val/recall_at_1"]
    assert weak.registered_version is None
    assert client.get_model_version_by_alias(NAME, "champion").run_id == champion.run_id


def test_registered_references_open_the_bundle(
    champion: TrainResult, store: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["tracking_uri"])
    client = _client(store)
    client.transition_model_version_stage(NAME, "1", "Production")  # stages are deprecated
    for ref in (
        f"models:/{NAME}@champion",
        f"models:/{NAME}/1",
        f"models:/{NAME}/latest",
        f"models:/{NAME}/Production",
    ):
        with open_bundle(ref, options(tmp_path)) as bundle:
            vector, choice = bundle.encode_query(QUERY_FA)
            assert choice.bundle == ref and choice.language == "fa"
            assert choice.name.endswith("text-fa") and str(tmp_path / "registry") in choice.name
    [downloaded] = (tmp_path / "registry").glob(f"*/{NAME}/1")
    assert json.loads((downloaded / "bundle.json").read_text())["image"]["ref"] == "image"
    with pytest.raises(
        ConfigError, match=rf"no registered model 'nope' .* \(registered models: {NAME}\)"
    ):
        open_bundle("models:/nope@champion", options(tmp_path))
    with pytest.raises(ConfigError, match=r"has no alias 'prod' .* \(aliases: champion\)"):
        open_bundle(f"models:/{NAME}@prod", options(tmp_path))
    with pytest.raises(ConfigError, match="has no version 9"):
        open_bundle(f"models:/{NAME}/9", options(tmp_path))
    with pytest.raises(ConfigError, match="has no version in stage 'Archived'"):
        open_bundle(f"models:/{NAME}/Archived", options(tmp_path))


def test_search_with_a_registered_model(
    champion: TrainResult,
    store: dict[str, str],
    tiny_model: Path,
    standard_video: tuple[Path, list],
    tmp_path: Path,
) -> None:
    """An index built with the tiny CLIP is searched in Persian by the registered bundle (its
    image encoder is a copy of the tiny CLIP: the same identity)."""
    runner = CliRunner()
    home = str(tmp_path / "home")
    env = {"VIDSEARCH_BACKEND": "torch", "MLFLOW_TRACKING_URI": store["tracking_uri"]}
    indexed = runner.invoke(
        app, ["index", str(standard_video[0]), "--home", home, "--model", str(tiny_model)], env=env
    )
    assert indexed.exit_code == 0, indexed.output
    env["VIDSEARCH_MODEL"] = f"models:/{NAME}@champion"
    found = runner.invoke(app, ["search", QUERY_FA, "--home", home, "--json", "-k", "3"], env=env)
    assert found.exit_code == 0, found.output
    result = json.loads(found.stdout)
    assert result["encoder"]["bundle"] == f"models:/{NAME}@champion"
    assert result["encoder"]["language"] == "fa" and result["encoder"]["name"].endswith("text-fa")
    assert result["moments"] and all(m["video"] == "standard.mp4" for m in result["moments"])
    env["VIDSEARCH_MODEL"] = "models:/vidsearch-xx@champion"
    unknown = runner.invoke(app, ["search", QUERY_FA, "--home", home], env=env)
    assert unknown.exit_code == 1 and "no registered model 'vidsearch-xx'" in unknown.stderr
