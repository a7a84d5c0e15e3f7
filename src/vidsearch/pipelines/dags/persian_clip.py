"""persian_clip: build the Persian training data, train a candidate text encoder, and put it in
production only if it is significantly better than the model there now.

    import_captions ─> translate ─> filter_captions ─┐
                                                     ├─> merge ─> train ─> evaluate ─> promote
    crawl (skipped without a crawl endpoint) ────────┘

Each task calls `vidsearch.pipelines.persian_clip` or `.candidate`, the same library calls as
the `vidsearch data` / `train` / `eval` commands (docs/orchestration.md lists the equivalent
commands). Datasets live in WORKDIR (captions, crawl, train); each DAG run trains into its own
WORKDIR/runs/<run id> (a retried task resumes it), tracked in MLflow. `evaluate` compares the
candidate with the version holding `registered_model@alias` on the test split (a paired
bootstrap; else with `baseline`; else the first candidate wins), and `promote` registers the
candidate and moves the alias only when it is better.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import TriggerRule, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from vidsearch.pipelines import candidate as model_steps
from vidsearch.pipelines import persian_clip as steps
from vidsearch.pipelines.dags._support import (
    airflow_params,
    log,
    run_id_folder,
    run_step,
    values,
)
from vidsearch.pipelines.params import build_settings, settings_values

PARAMS = steps.DAG_PARAMS
ENCODER = tuple(p.name for p in steps.ENCODER_PARAMS)


def _folders() -> dict[str, str]:
    p = values(PARAMS, "workdir", "home")
    return steps.folders(p["workdir"], build_settings(p))


def _skipped(report: dict[str, Any]) -> dict[str, Any]:
    if report.get("skipped"):
        raise AirflowSkipException(report.get("reason", "nothing to do"))
    return report


@dag(
    dag_id="persian_clip",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    params=airflow_params(PARAMS),
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["vidsearch"],
    doc_md=__doc__,
)
def persian_clip() -> None:
    @task
    def import_captions() -> dict[str, Any]:
        p = values(
            PARAMS,
            "captions_format",
            "captions_file",
            "images_dir",
            "captions_source",
            "captions_split",
            "shapes_images",
        )
        report = run_step(
            steps.import_captions,
            dataset=_folders()["captions"],
            format=p["captions_format"],
            captions_file=p["captions_file"],
            images_dir=p["images_dir"],
            source=p["captions_source"],
            split=p["captions_split"],
            shapes_images=p["shapes_images"],
        )
        return _skipped(report)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def translate() -> dict[str, Any]:
        p = values(
            PARAMS,
            "translate_backend",
            "translate_endpoint",
            "translate_options",
            "translate_model",
            "translate_dictionary",
            "translate_from",
            "language",
            "translate_batch_size",
            "translate_rate",
        )
        dataset = _folders()["captions"]
        report = run_step(
            steps.translate,
            dataset=dataset,
            backend=p["translate_backend"],
            endpoint=p["translate_endpoint"],
            options=p["translate_options"],
            model=p["translate_model"],
            dictionary=p["translate_dictionary"],
            source_language=p["translate_from"],
            target_language=p["language"],
            batch_size=p["translate_batch_size"],
            rate=p["translate_rate"],
        )
        return _skipped(report)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def filter_captions() -> dict[str, Any]:
        p = values(
            PARAMS,
            "filter_encoder",
            "filter_threshold",
            "filter_top_fraction",
            "language",
            "threads",
        )
        report = run_step(
            steps.filter_captions,
            dataset=_folders()["captions"],
            encoder=p["filter_encoder"],
            threshold=p["filter_threshold"],
            top_fraction=p["filter_top_fraction"],
            language=p["language"],
            threads=p["threads"],
        )
        return _skipped(report)

    @task
    def crawl() -> dict[str, Any]:
        p = values(PARAMS, "crawl", "crawl_endpoint", "crawl_max_items", "crawl_max_pages")
        report = run_step(
            steps.crawl,
            dataset=_folders()["crawl"],
            config=p["crawl"],
            endpoint=p["crawl_endpoint"],
            max_items=p["crawl_max_items"],
            max_pages=p["crawl_max_pages"],
        )
        return _skipped(report)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def merge() -> dict[str, Any]:
        where = _folders()
        report = run_step(
            steps.merge, sources=[where["captions"], where["crawl"]], into=where["train"]
        )
        log.info("training dataset %s: %s", report["dataset"], report["counts"])
        return report

    @task
    def train(dataset: dict[str, Any]) -> dict[str, Any]:
        p = values(PARAMS, "train_config", "tracking_uri", "experiment", "language", *ENCODER)
        return run_step(
            model_steps.train_candidate,
            config=p["train_config"] or {},
            dataset=dataset["dataset"],
            output=f"{_folders()['runs']}/{run_id_folder()}",
            tracking_uri=p["tracking_uri"],
            experiment=p["experiment"],
            language=p["language"],
            settings=settings_values(p),
        )

    @task
    def evaluate(candidate: dict[str, Any], dataset: dict[str, Any]) -> dict[str, Any]:
        p = values(
            PARAMS,
            "registered_model",
            "alias",
            "baseline",
            "eval_split",
            "deciding_k",
            "eval_rounds",
            "eval_limit",
            *ENCODER,
        )
        decision = run_step(
            model_steps.evaluate_candidate,
            candidate=candidate,
            dataset=dataset["dataset"],
            registered_model=p["registered_model"],
            alias=p["alias"],
            baseline=p["baseline"],
            split=p["eval_split"],
            deciding_k=p["deciding_k"],
            rounds=p["eval_rounds"],
            limit=p["eval_limit"],
            champions=_folders()["champions"],
            settings=settings_values(p),
        )
        log.info("better: %s (%s)", decision["better"], decision.get("reason", ""))
        return decision

    @task
    def promote(candidate: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
        p = values(PARAMS, "registered_model", "alias")
        return run_step(
            model_steps.promote,
            candidate=candidate,
            evaluation=evaluation,
            registered_model=p["registered_model"],
            alias=p["alias"],
        )

    filtered = filter_captions()
    import_captions() >> translate() >> filtered
    dataset = merge()
    [filtered, crawl()] >> dataset
    candidate = train(dataset)
    promote(candidate, evaluate(candidate, dataset))


persian_clip()
