"""ModelRegistry on a local sqlite store: who holds an alias, promotion moving it, and
promotion repeated (a retried pipeline task) changing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidsearch.train.errors import TrackingError
from vidsearch.train.registry import ModelRegistry, RegisteredVersion

mlflow = pytest.importorskip("mlflow")

NAME = "vidsearch-fa"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("fa", artifact_location=(root / "art").as_uri())
    return uri, experiment


def _run(uri: str, experiment: str) -> tuple[str, str]:
    run = mlflow.MlflowClient(tracking_uri=uri).create_run(experiment)
    return run.info.run_id, f"{run.info.artifact_uri}/bundle"


def test_promotion_moves_the_alias_once_per_run(store: tuple[str, str]) -> None:
    uri, experiment = store
    said: list[str] = []
    registry = ModelRegistry(uri, notify=said.append)
    assert registry.holder(NAME) is None  # no such model
    first, first_source = _run(uri, experiment)
    promoted = registry.promote(NAME, run_id=first, source=first_source, tags={"why": "test"})
    assert promoted == RegisteredVersion(NAME, "1", first, first_source, "champion")
    assert registry.holder(NAME) == promoted
    assert registry.holder(NAME, "staging") is None  # a model without that alias
    assert said == [f"registered '{NAME}' version 1 as @champion"]
    assert registry.client.get_model_version(NAME, "1").tags == {"why": "test"}

    assert registry.promote(NAME, run_id=first, source=first_source) == promoted  # unchanged
    assert len(registry.client.search_model_versions(f"name = '{NAME}'")) == 1

    second, second_source = _run(uri, experiment)
    moved = registry.promote(NAME, run_id=second, source=second_source)
    assert (moved.version, moved.run_id) == ("2", second)
    assert registry.holder(NAME) == moved
    assert registry.reference(NAME) == f"models:/{NAME}@champion" == moved.reference

    # a promotion that died after creating its version, retried: the version is reused
    staged = registry.promote(NAME, run_id=first, source=first_source, alias="staging")
    assert staged.version == "1" and registry.holder(NAME, "staging") == staged
    assert len(registry.client.search_model_versions(f"name = '{NAME}'")) == 2
    assert registry.holder(NAME).version == "2"  # the other alias did not move


def test_a_store_that_refuses_is_an_error_not_no_champion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    registry = ModelRegistry("http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(TrackingError, match=r"registry at http://127.0.0.1:9: cannot read"):
        registry.holder(NAME)
    with pytest.raises(TrackingError, match="needs an MLflow tracking URI"):
        ModelRegistry("")
