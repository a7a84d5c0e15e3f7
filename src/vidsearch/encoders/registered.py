"""Bundles registered in an MLflow model registry, named like MLflow names models:

    models:/NAME/VERSION    a version number
    models:/NAME/STAGE      the latest version in a stage (Production, Staging...)
    models:/NAME/latest     the latest version
    models:/NAME@ALIAS      the version an alias points at (e.g. @champion)

`vidsearch train` registers its bundles this way. The registry is the one MLflow's own client
finds (MLFLOW_TRACKING_URI, or MLFLOW_REGISTRY_URI). A version's files never change, so each
version is downloaded once into `CACHE/registry/<registry hash>/<name>/<version>/` and reused;
an alias or a stage is looked up on every open, since it moves.

MLflow is imported only here and only for such a reference; without it the error says which
extra to install.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidsearch.errors import ConfigError, ModelError

ARTIFACTS_FOLDER = "mlartifacts"  # beside a sqlite tracking store

PREFIX = "models:/"
MANIFEST = "bundle.json"  # as in bundles.py (which imports this module)
INSTALL_HINT = "models:/ references need MLflow: pip install -c constraints.txt 'vidsearch[train]'"
_NAME = r"[^/@]+"
_ALIAS = re.compile(rf"^models:/({_NAME})@([\w\-]+)$")
_VERSION_OR_STAGE = re.compile(rf"^models:/({_NAME})/([\w\-]+)$")


@dataclass(frozen=True, slots=True)
class RegisteredRef:
    name: str
    version: str | None = None
    stage: str | None = None  # includes "latest"
    alias: str | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{PREFIX}{self.name}@{self.alias}"
        return f"{PREFIX}{self.name}/{self.version or self.stage}"


def is_registered(ref: str) -> bool:
    return ref.strip().startswith(PREFIX)


def parse_registered(ref: str) -> RegisteredRef:
    ref = ref.strip()
    if match := _ALIAS.match(ref):
        return RegisteredRef(match[1], alias=match[2])
    if match := _VERSION_OR_STAGE.match(ref):
        name, tail = match[1], match[2]
        return (
            RegisteredRef(name, version=tail) if tail.isdigit() else RegisteredRef(name, stage=tail)
        )
    raise ConfigError(
        f"'{ref}' is not a registered model reference: use models:/NAME/VERSION, "
        "models:/NAME/STAGE, models:/NAME/latest or models:/NAME@ALIAS"
    )


def import_mlflow() -> Any:
    """The mlflow module, or a ModelError with the install hint."""
    # no per-file progress bars on stderr (MLflow reads this setting only from the environment)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        import mlflow
    except ImportError:
        raise ModelError(INSTALL_HINT) from None
    return mlflow


def fetch_registered_bundle(ref: str, cache_dir: Path) -> Path:
    """The directory of the bundle `ref` names, downloaded into `cache_dir` if not there yet."""
    wanted = parse_registered(ref)
    mlflow = import_mlflow()
    client = mlflow.MlflowClient()
    registry = mlflow.get_registry_uri()
    error = mlflow.exceptions.MlflowException
    try:
        version = _find_version(client, wanted, registry, error)
        target = _cache_folder(cache_dir, registry, wanted.name, str(version.version))
        if (target / MANIFEST).is_file():
            return target
        source = client.get_model_version_download_uri(wanted.name, version.version)
    except error as exc:
        raise ModelError(
            f"cannot read '{wanted}' from the MLflow registry at {registry}: {exc}"
        ) from None
    return _download(mlflow, source, target, f"{wanted} (version {version.version})", error)


def _find_version(client: Any, wanted: RegisteredRef, registry: str, error: type) -> Any:
    where = f"in the MLflow registry at {registry}"
    try:
        client.get_registered_model(wanted.name)
    except error:
        known = [m.name for m in client.search_registered_models(max_results=20)]
        raise ConfigError(
            f"no registered model '{wanted.name}' {where} "
            f"(registered models: {', '.join(known) or 'none'})"
        ) from None
    if wanted.alias is not None:
        try:
            return client.get_model_version_by_alias(wanted.name, wanted.alias)
        except error:
            aliases = client.get_registered_model(wanted.name).aliases or {}
            raise ConfigError(
                f"registered model '{wanted.name}' has no alias '{wanted.alias}' {where} "
                f"(aliases: {', '.join(sorted(aliases)) or 'none'})"
            ) from None
    if wanted.version is not None:
        try:
            return client.get_model_version(wanted.name, wanted.version)
        except error:
            raise ConfigError(
                f"registered model '{wanted.name}' has no version {wanted.version} {where}"
            ) from None
    versions = client.search_model_versions(f"name = '{wanted.name}'")
    if wanted.stage and wanted.stage.lower() != "latest":
        versions = [v for v in versions if (v.current_stage or "").lower() == wanted.stage.lower()]
    if not versions:
        raise ConfigError(
            f"registered model '{wanted.name}' has no version in stage '{wanted.stage}' {where}"
        )
    return max(versions, key=lambda v: int(v.version))


def _cache_folder(cache_dir: Path, registry: str, name: str, version: str) -> Path:
    store = hashlib.sha256(registry.encode()).hexdigest()[:12]
    safe = re.sub(r"[^\w.\-]+", "_", name)
    return Path(cache_dir) / "registry" / store / safe / version


def _download(mlflow: Any, source: str, target: Path, what: str, error: type) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        try:
            path = Path(
                mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(staging))
            )
        except (error, OSError) as exc:
            raise ModelError(f"cannot download {what} from {source}: {exc}") from None
        if not (path / MANIFEST).is_file():
            raise ModelError(f"{what} at {source} has no {MANIFEST}: it is not a vidsearch bundle")
        if not (target / MANIFEST).is_file():  # another process may have won the race
            shutil.rmtree(target, ignore_errors=True)
            path.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def beside_database(tracking_uri: str) -> str | None:
    """For a sqlite store, a new experiment's artifacts go next to the database file, not into
    `./mlruns` under whatever folder the command ran in (MLflow's default)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or tracking_uri == prefix + ":memory:":
        return None
    database = Path(tracking_uri.removeprefix(prefix)).expanduser().absolute()
    return (database.parent / ARTIFACTS_FOLDER).as_uri()
