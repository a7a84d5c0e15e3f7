"""The MLflow model registry, as training and the pipelines use it: who holds an alias, and
moving an alias to a run's bundle.

    registry = ModelRegistry("http://127.0.0.1:5000")
    registry.holder("vidsearch-fa")                      # the @champion version, or None
    registry.promote("vidsearch-fa", run_id=run, source="mlflow-artifacts:/…/bundle")
    registry.reference("vidsearch-fa")                   # "models:/vidsearch-fa@champion"

`promote` is idempotent, so a retried task (or a retried `vidsearch train`) is safe: the alias
already on a version of the run stays; a version of the run the alias is not on (a task that
died between creating it and moving the alias) is reused rather than duplicated.

"No such model" and "no such alias" are answers (None); every other refusal of the store (it is
down, it rejects a name) is a TrackingError, never silently "no champion". MLflow is imported
when a registry is made (the `train` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vidsearch.encoders.registered import PREFIX, import_mlflow
from vidsearch.errors import ModelError
from vidsearch.train.errors import TrackingError

INSTALL_HINT = "the model registry needs MLflow: pip install -c constraints.txt 'vidsearch[train]'"
DEFAULT_ALIAS = "champion"
DESCRIPTION = "vidsearch bundles"
_MISSING = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
_EXISTS = "RESOURCE_ALREADY_EXISTS"
Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str | None
    source: str  # the artifact URI the version was made from
    alias: str | None  # the alias looked up/set, if any

    @property
    def reference(self) -> str:
        """`models:/NAME@ALIAS` (or `models:/NAME/VERSION` without an alias)."""
        tail = f"@{self.alias}" if self.alias else f"/{self.version}"
        return f"{PREFIX}{self.name}{tail}"


class ModelRegistry:
    """The MLflow model registry (MLflow imported lazily; missing mlflow -> TrackingError with
    the install hint)."""

    def __init__(
        self, tracking_uri: str, *, notify: Notify = _quiet, client: Any | None = None
    ) -> None:
        """`client`: an MlflowClient to share (its registry must be `tracking_uri`'s)."""
        if not tracking_uri:
            raise TrackingError("the model registry needs an MLflow tracking URI")
        try:
            mlflow = import_mlflow()
        except ModelError:
            raise TrackingError(INSTALL_HINT) from None
        self.tracking_uri = tracking_uri
        self.notify = notify
        self._exception = mlflow.exceptions.MlflowException
        self.client = client or mlflow.MlflowClient(
            tracking_uri=tracking_uri, registry_uri=tracking_uri
        )

    def _fail(self, doing: str, exc: Exception) -> TrackingError:
        return TrackingError(f"MLflow registry at {self.tracking_uri}: cannot {doing}: {exc}")

    def _missing(self, exc: Exception) -> bool:
        return isinstance(exc, self._exception) and getattr(exc, "error_code", "") in _MISSING

    def _registered_model(self, name: str) -> Any | None:
        try:
            return self.client.get_registered_model(name)
        except self._exception as exc:
            if self._missing(exc):
                return None
            raise self._fail(f"read the registered model '{name}'", exc) from None

    def holder(self, name: str, alias: str = DEFAULT_ALIAS) -> RegisteredVersion | None:
        """The version `alias` points at now (None: no such model, or no such alias)."""
        model = self._registered_model(name)
        if model is None:
            return None
        version = (model.aliases or {}).get(alias)
        if version is None:
            return None
        try:
            found = self.client.get_model_version(name, str(version))
        except self._exception as exc:
            raise self._fail(f"read version {version} of '{name}'", exc) from None
        return _registered(found, alias)

    def promote(
        self,
        name: str,
        *,
        run_id: str,
        source: str,
        alias: str = DEFAULT_ALIAS,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredVersion:
        """Make `source` (the bundle artifact of run `run_id`) the version `alias` points at.

        Idempotent: the alias already on a version of this run stays there; else a version of
        this run from the same source is reused, or a new one is created (and the registered
        model, if missing), and the alias moves to it."""
        current = self.holder(name, alias)
        if current is not None and current.run_id == run_id:
            return current
        try:
            if self._registered_model(name) is None:
                self._create_registered_model(name)
            version = self._version_of(name, run_id, source) or self.client.create_model_version(
                name, source=source, run_id=run_id, tags=dict(tags or {})
            )
            self.client.set_registered_model_alias(name, alias, str(version.version))
        except self._exception as exc:
            raise self._fail(f"register '{name}' from run {run_id}", exc) from None
        self.notify(f"registered '{name}' version {version.version} as @{alias}")
        return _registered(version, alias)

    def reference(self, name: str, alias: str = DEFAULT_ALIAS) -> str:
        """What search, eval and `VIDSEARCH_MODEL` take: `models:/NAME@ALIAS`."""
        return f"{PREFIX}{name}@{alias}"

    def _create_registered_model(self, name: str) -> None:
        try:
            self.client.create_registered_model(name, description=DESCRIPTION)
        except self._exception as exc:
            if getattr(exc, "error_code", "") != _EXISTS:  # another process made it meanwhile
                raise

    def _version_of(self, name: str, run_id: str, source: str) -> Any | None:
        """An existing version of `name` made from `run_id`'s `source` (a retried promotion)."""
        versions = self.client.search_model_versions(f"run_id = '{_quoted(run_id)}'")
        mine = [v for v in versions if v.name == name and v.source == source]
        return max(mine, key=lambda v: int(v.version)) if mine else None


def _quoted(value: str) -> str:
    if "'" in value:
        raise TrackingError(f"not an MLflow run id: {value!r}")
    return value


def _registered(version: Any, alias: str | None) -> RegisteredVersion:
    return RegisteredVersion(
        name=version.name,
        version=str(version.version),
        run_id=version.run_id or None,
        source=version.source,
        alias=alias,
    )
