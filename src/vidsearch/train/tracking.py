"""Experiment tracking: every run in MLflow (the `train` extra), or nowhere.

An MLflow run holds the config as params, the training metrics of every step and the
validation metrics of every epoch, the best epoch's metrics as `best/...`, and the trained
bundle (self-contained: local models copied in) as the artifact folder `bundle`. The run is
registered as a new version of `registered_model` when it beats the version the alias
(default `champion`) points at, and the alias moves to it; `VIDSEARCH_MODEL=models:/NAME@ALIAS`
then searches with it (`vidsearch.encoders.registered`).

The MLflow client is used directly (no global active run), imported on first use. A resumed
training run continues its MLflow run.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from vidsearch.encoders.registered import beside_database, import_mlflow
from vidsearch.errors import ModelError
from vidsearch.train.bundle_output import self_contained
from vidsearch.train.config import TrackingConfig
from vidsearch.train.errors import TrackingError
from vidsearch.train.metrics import PRIMARY
from vidsearch.train.registry import ModelRegistry
from vidsearch.train.trainer import VALIDATION

INSTALL_HINT = "tracking runs needs MLflow: pip install -c constraints.txt 'vidsearch[train]'"
ARTIFACT_PATH = "bundle"
BEST_PREFIX = "best/"
MONITOR = f"{BEST_PREFIX}{VALIDATION}/{PRIMARY}"  # compares runs for the registry
FLUSH_EVERY = 200  # buffered metric values per MLflow call
Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class Tracker(Protocol):
    def run(
        self, resume_id: str | None, params: dict[str, str]
    ) -> contextlib.AbstractContextManager[str | None]:
        """Open a run (or continue `resume_id`); yields its id; ends it as FINISHED, FAILED
        or KILLED."""
        ...

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_bundle(self, directory: Path) -> str | None:
        """Log the bundle directory as the run's artifact; its URI."""
        ...

    def register(self, best: dict[str, float], artifact_uri: str | None) -> str | None:
        """Register the run's bundle if it beats the champion; the version (or None)."""
        ...


class NullTracker:
    """Tracks nothing (no tracking_uri in the config)."""

    @contextlib.contextmanager
    def run(self, resume_id: str | None, params: dict[str, str]) -> Iterator[str | None]:
        yield resume_id

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_bundle(self, directory: Path) -> str | None:
        return None

    def register(self, best: dict[str, float], artifact_uri: str | None) -> str | None:
        return None


def _mlflow() -> Any:
    try:
        return import_mlflow()
    except ModelError:
        raise TrackingError(INSTALL_HINT) from None


class MlflowTracker:
    def __init__(self, config: TrackingConfig, *, notify: Notify = _quiet) -> None:
        if not config.tracking_uri:
            raise TrackingError("MLflow tracking needs mlflow.tracking_uri")
        self.config = config
        self.notify = notify
        mlflow = _mlflow()
        self._exception = mlflow.exceptions.MlflowException
        self._entities = mlflow.entities
        self.client = mlflow.MlflowClient(
            tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri
        )
        self.registry = ModelRegistry(config.tracking_uri, notify=notify, client=self.client)
        self.run_id: str | None = None
        self._buffer: list[Any] = []

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except self._exception as exc:
            raise TrackingError(
                f"MLflow at {self.config.tracking_uri}: cannot {doing}: {exc}"
            ) from None

    def _experiment_id(self) -> str:
        with self._errors(f"open the experiment '{self.config.experiment}'"):
            experiment = self.client.get_experiment_by_name(self.config.experiment)
            if experiment is not None:
                return experiment.experiment_id
            return self.client.create_experiment(
                self.config.experiment,
                artifact_location=self.config.artifact_location
                or beside_database(self.config.tracking_uri or ""),
            )

    @contextlib.contextmanager
    def run(self, resume_id: str | None, params: dict[str, str]) -> Iterator[str | None]:
        run_id = self._continue(resume_id) if resume_id else None
        if run_id is None:
            experiment = self._experiment_id()
            with self._errors("start a run"):
                run = self.client.create_run(experiment, run_name=self.config.run_name)
                run_id = run.info.run_id
                Param = self._entities.Param
                items = [Param(k, v[:6000]) for k, v in sorted(params.items())]
                for start in range(0, len(items), 100):
                    self.client.log_batch(run_id, params=items[start : start + 100])
        self.run_id = run_id
        status = "FAILED"
        try:
            yield run_id
            self._flush()
            status = "FINISHED"
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        finally:
            with contextlib.suppress(TrackingError, self._exception):
                self._flush()  # what an interrupted run measured is kept
                self.client.set_terminated(run_id, status)

    def _continue(self, run_id: str) -> str | None:
        try:
            run = self.client.get_run(run_id)
        except self._exception:
            self.notify(f"the MLflow run {run_id} of the checkpoint is gone: starting a new run")
            return None
        with self._errors("continue the run"):
            self.client.update_run(run.info.run_id, status="RUNNING")
        return run.info.run_id

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        Metric = self._entities.Metric
        self._buffer += [Metric(k, float(v), now, step) for k, v in metrics.items()]
        if len(self._buffer) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self.run_id is None or not self._buffer:
            return
        buffer, self._buffer = self._buffer, []
        with self._errors("log metrics"):
            for start in range(0, len(buffer), 1000):
                self.client.log_batch(self.run_id, metrics=buffer[start : start + 1000])

    def log_bundle(self, directory: Path) -> str | None:
        assert self.run_id is not None, "log_bundle runs inside run()"
        with tempfile.TemporaryDirectory(prefix="vidsearch-bundle-") as staging:
            packed = self_contained(directory, Path(staging) / ARTIFACT_PATH)
            with self._errors("log the bundle"):
                self.client.log_artifacts(self.run_id, str(packed), artifact_path=ARTIFACT_PATH)
                run = self.client.get_run(self.run_id)
        return f"{run.info.artifact_uri.rstrip('/')}/{ARTIFACT_PATH}"

    def register(self, best: dict[str, float], artifact_uri: str | None) -> str | None:
        name = self.config.registered_model
        if not name or artifact_uri is None:
            return None
        assert self.run_id is not None, "register runs inside run()"
        metric = best.get(f"{VALIDATION}/{PRIMARY}")
        if metric is None:
            raise TrackingError(f"no {VALIDATION}/{PRIMARY} to compare runs by")
        alias = self.config.alias
        champion = self.registry.holder(name, alias)
        if champion is not None and champion.run_id != self.run_id:
            held = self._run_metric(champion.run_id)
            if held is not None and held >= metric:
                self.notify(
                    f"'{name}@{alias}' stays version {champion.version} "
                    f"({PRIMARY} {held:.3f} >= this run's {metric:.3f})"
                )
                return None
        version = self.registry.promote(
            name, run_id=self.run_id, source=artifact_uri, alias=alias, tags={MONITOR: str(metric)}
        )
        return version.version

    def _run_metric(self, run_id: str | None) -> float | None:
        if not run_id:
            return None
        try:
            return self.client.get_run(run_id).data.metrics.get(MONITOR)
        except self._exception:
            return None


def tracker_for(config: TrackingConfig, *, notify: Notify = _quiet) -> Tracker:
    return MlflowTracker(config, notify=notify) if config.tracking_uri else NullTracker()
