"""The model steps of the `persian_clip` workflow: train a candidate, measure it against the
model in production, and promote it only if it is significantly better.

    train_candidate    `vidsearch train` on the merged dataset, tracked in MLflow (the run and
                       its bundle artifact), never registered by training itself
    evaluate_candidate Recall@k on the dataset's test split, candidate vs the version holding
                       `registered_model@alias` (else a baseline bundle, else nothing), paired
                       bootstrap (`vidsearch.evaluation.comparison.compare_models`)
    promote            register the candidate's bundle and move the alias to it, if better

Production is the alias (default `champion`): `VIDSEARCH_MODEL=models:/NAME@champion` searches
with whichever version holds it. Every step is idempotent: training resumes from its
checkpoint in its own output folder, the champion is downloaded once per version, and the
registry's `promote` reuses a version of the same run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vidsearch.errors import ConfigError
from vidsearch.pipelines.params import Kind, build_settings, spec

DEFAULT_MODEL_NAME = "vidsearch-fa"
DEFAULT_ALIAS = "champion"
DEFAULT_KS = (1, 5, 10)
REPORT_FILE = "evaluation.json"  # beside the candidate's bundle
TRACKING_HINT = (
    "the persian_clip workflow tracks and registers models in MLflow: set tracking_uri "
    "(the param, the Variable vidsearch_tracking_uri, or MLFLOW_TRACKING_URI)"
)

MODEL_PARAMS = (
    spec(
        "train_config",
        (Kind.OBJECT, Kind.STRING),
        "Training config (docs/training.md): a .toml/.json/.yaml file, or the config itself; "
        "the workflow sets its data.dataset, output and mlflow tracking",
    ),
    spec(
        "tracking_uri", Kind.STRING, "MLflow tracking and registry URI [else MLFLOW_TRACKING_URI]"
    ),
    spec("experiment", Kind.STRING, "MLflow experiment of the training runs", "vidsearch-fa"),
    spec(
        "registered_model",
        Kind.STRING,
        "Registered model of the promoted bundles",
        DEFAULT_MODEL_NAME,
    ),
    spec("alias", Kind.STRING, "The alias production searches with", DEFAULT_ALIAS),
    spec(
        "baseline",
        Kind.STRING,
        "Bundle the first candidate must beat while no version holds the alias; empty: the "
        "first candidate is promoted",
    ),
    spec(
        "eval_split",
        Kind.STRING,
        "Split the models are compared on",
        "test",
        choices=("train", "validation", "test"),
    ),
    spec("deciding_k", Kind.INTEGER, "Text-to-image Recall@k that decides", 5),
    spec("eval_rounds", Kind.INTEGER, "Bootstrap resamples", 2000),
    spec("eval_limit", Kind.INTEGER, "Compare on at most this many test images"),
)


def tracking_uri_or_env(value: str | None) -> str | None:
    return value or os.environ.get("MLFLOW_TRACKING_URI") or None


def train_candidate(
    *,
    config: Mapping[str, Any] | str,
    dataset: str,
    output: str,
    tracking_uri: str | None,
    experiment: str | None = None,
    language: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train as `config` says on `dataset`'s `language` captions (default: the config's) into
    `output` (a rerun resumes, a finished run is not trained again), tracked in MLflow but
    not registered; the result with the run id and the bundle artifact's URI."""
    from vidsearch.assembly import encoder_options
    from vidsearch.train.config import parse_config
    from vidsearch.train.runner import train

    uri = tracking_uri_or_env(tracking_uri)
    if not uri:
        raise ConfigError(TRACKING_HINT)
    base = _load_config(config)
    data = base.model_dump(mode="json")
    data["output"] = output
    data["data"]["dataset"] = dataset
    data["mlflow"] |= {"tracking_uri": uri, "registered_model": None}
    if experiment:
        data["mlflow"]["experiment"] = experiment
    if language:
        data["data"]["language"] = language
    final = parse_config(data, where="the workflow's training config")
    env = build_settings(settings or {})
    options = replace(encoder_options(env), threads=final.optim.threads or env.threads)
    result = train(final, encoder_options=options)
    return result.to_json() | {
        "language": final.data.language,
        "tracking_uri": uri,
        "artifact_uri": _artifact_uri(uri, result.run_id),
    }


def _load_config(config: Mapping[str, Any] | str):  # -> TrainConfig
    from vidsearch.train.config import parse_config, read_config_data

    if isinstance(config, Mapping):
        data = json.loads(json.dumps(config))  # a copy: the caller's stays as it was
        where = "train_config"
    elif config:
        data = read_config_data(Path(config).expanduser())
        where = str(config)
    else:
        raise ConfigError("train_config is empty: give a training config file or object")
    data.setdefault("output", "unused")  # the workflow sets it
    data.setdefault("data", {}).setdefault("dataset", "unused")
    return parse_config(data, where=where)


def _artifact_uri(tracking_uri: str, run_id: str | None) -> str | None:
    from vidsearch.encoders.registered import import_mlflow
    from vidsearch.train.tracking import ARTIFACT_PATH

    if run_id is None:
        return None
    client = import_mlflow().MlflowClient(tracking_uri=tracking_uri)
    return f"{client.get_run(run_id).info.artifact_uri.rstrip('/')}/{ARTIFACT_PATH}"


def evaluate_candidate(
    *,
    candidate: Mapping[str, Any],
    dataset: str,
    registered_model: str = DEFAULT_MODEL_NAME,
    alias: str = DEFAULT_ALIAS,
    baseline: str | None = None,
    split: str = "test",
    ks: Sequence[int] = DEFAULT_KS,
    deciding_k: int = 5,
    rounds: int = 2000,
    limit: int | None = None,
    champions: str,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Whether the candidate (a `train_candidate` result) is significantly better than the
    version holding `registered_model@alias` (downloaded into `champions/<version>` once),
    or than `baseline` while none does; with neither, it is better by default (and measured
    alone). The full report goes to `evaluation.json` beside the candidate's bundle."""
    from vidsearch.assembly import encoder_options
    from vidsearch.data.records import Split
    from vidsearch.evaluation.comparison import compare_models
    from vidsearch.train.registry import ModelRegistry

    uri = candidate.get("tracking_uri")
    holder = ModelRegistry(uri).holder(registered_model, alias) if uri else None
    decision: dict[str, Any] = {"registered_model": registered_model, "alias": alias}
    if holder is not None and holder.run_id == candidate.get("run_id"):
        return decision | {
            "better": True,
            "incumbent": holder.reference,
            "reason": "the candidate already holds the alias",
        }
    incumbent: str | None = None
    if holder is not None:
        incumbent = str(_champion_bundle(uri or "", holder, Path(champions)))
        decision |= {"incumbent": holder.reference, "incumbent_version": holder.version}
    elif baseline:
        incumbent = baseline
        decision |= {"incumbent": baseline}
    else:
        decision |= {
            "incumbent": None,
            "reason": f"no version holds {registered_model}@{alias} and no baseline is set: "
            "the first candidate is better by default",
        }
    env = build_settings(settings or {})
    options = encoder_options(env)
    comparison = compare_models(
        Path(dataset),
        candidate["bundle"],
        incumbent,
        language=candidate.get("language") or "fa",
        split=Split(split),
        ks=tuple(ks),
        deciding_k=deciding_k,
        rounds=rounds,
        limit=limit,
        options=options,
    )
    result = comparison.to_json()
    # the full report beside the candidate's bundle; the XCom keeps the decision
    report = Path(candidate["bundle"]).parent / REPORT_FILE
    report.write_text(json.dumps(result.pop("report"), default=_plain, indent=2))
    plain = json.loads(json.dumps(result, default=_plain))  # numpy scalars as JSON numbers
    return plain | decision | {"better": bool(comparison.better), "report_file": str(report)}


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def _champion_bundle(tracking_uri: str, holder: Any, champions: Path) -> Path:
    """The bundle of the version holding the alias, downloaded once (versions never change)."""
    from vidsearch.encoders.registered import MANIFEST, import_mlflow
    from vidsearch.train.errors import TrackingError

    target = champions / holder.name / holder.version
    if (target / MANIFEST).is_file():
        return target
    mlflow = import_mlflow()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        path = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=holder.source, dst_path=str(staging), tracking_uri=tracking_uri
            )
        )
        if not (path / MANIFEST).is_file():
            raise TrackingError(f"{holder.reference} ({holder.source}) is not a vidsearch bundle")
        shutil.rmtree(target, ignore_errors=True)
        path.rename(target)
    except mlflow.exceptions.MlflowException as exc:
        raise TrackingError(f"cannot download {holder.reference}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def promote(
    *,
    candidate: Mapping[str, Any],
    evaluation: Mapping[str, Any],
    registered_model: str = DEFAULT_MODEL_NAME,
    alias: str = DEFAULT_ALIAS,
) -> dict[str, Any]:
    """Register the candidate's bundle and point the alias at it when the evaluation says it
    is better; otherwise leave the alias where it is."""
    from vidsearch.train.registry import ModelRegistry

    if not evaluation.get("better"):
        return {
            "promoted": False,
            "reason": f"not significantly better than {evaluation.get('incumbent')}",
            "registered_model": registered_model,
            "alias": alias,
        }
    uri, run_id, source = (candidate.get(k) for k in ("tracking_uri", "run_id", "artifact_uri"))
    if not uri or not run_id or not source:
        raise ConfigError(TRACKING_HINT)
    tags = {"vidsearch.incumbent": str(evaluation.get("incumbent") or "none")}
    if evaluation.get("metric"):
        tags |= {
            "vidsearch.metric": str(evaluation["metric"]),
            "vidsearch.candidate_value": str(evaluation.get("candidate_value")),
            "vidsearch.incumbent_value": str(evaluation.get("incumbent_value")),
        }
    registry = ModelRegistry(uri)
    version = registry.promote(
        registered_model, run_id=run_id, source=source, alias=alias, tags=tags
    )
    return {
        "promoted": True,
        "registered_model": registered_model,
        "alias": alias,
        "version": version.version,
        "run_id": run_id,
        "reference": registry.reference(registered_model, alias),
    }
