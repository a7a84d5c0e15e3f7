"""video_ingest: index the new videos of a folder and of a list of paths and URLs.

    discover ──> index_video (one mapped task per new video) ──┬─> refresh_stats (all done)
                                                               └─> all_indexed

Each task calls `vidsearch.pipelines.video_ingest`. A video already complete in the index is
not discovered again; a video that cannot be indexed fails its own mapped task (no retries:
the file is what it is) while the others go on; `refresh_stats` runs when every video is
done, whatever happened, and reports the index's counts (building the embedded index's search
graph when enough points wait for it); `all_indexed` fails the run, through its failed
upstream, when some video failed.

With the embedded index (no VIDSEARCH_QDRANT_URL where this file is parsed) one video is
indexed at a time: the index belongs to one process, and a task that finds it held (a
`vidsearch serve`, say) is retried. With a Qdrant server, the mapped tasks run in parallel on
as many workers as the executor has. docs/orchestration.md has the params and the setup.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import TriggerRule, dag, get_current_context, task

from vidsearch.pipelines import video_ingest as steps
from vidsearch.pipelines.dags._support import airflow_params, log, run_step, values
from vidsearch.pipelines.params import INDEX_PARAMS, settings_values

PARAMS = steps.DAG_PARAMS
SETTINGS = tuple(p.name for p in INDEX_PARAMS)
# Where the DAG is parsed: a Qdrant server lets mapped tasks run at once; a schedule (cron or
# preset such as @hourly) makes it a folder watch, its params then from Variables.
PARALLEL = bool(os.environ.get("VIDSEARCH_QDRANT_URL"))
SCHEDULE = os.environ.get("VIDSEARCH_INGEST_SCHEDULE") or None


@dag(
    dag_id="video_ingest",
    schedule=SCHEDULE,
    catchup=False,
    max_active_runs=1,
    params=airflow_params(PARAMS),
    default_args={"retries": 3, "retry_delay": timedelta(seconds=30)},
    tags=["vidsearch"],
    doc_md=__doc__,
)
def video_ingest() -> None:
    @task
    def discover() -> list[str]:
        """The videos to index: not yet complete in the index."""
        p = values(PARAMS, "folder", "pattern", "sources", "settle_seconds", "staging", *SETTINGS)
        report = run_step(
            steps.discover,
            folder=p["folder"],
            pattern=p["pattern"],
            sources=p["sources"],
            settle_seconds=p["settle_seconds"],
            staging=p["staging"],
            settings=settings_values(p),
        )
        log.info(
            "%d new, %d already indexed, %d still being copied, %d missing",
            len(report["new"]),
            len(report["known"]),
            len(report["settling"]),
            len(report["missing"]),
        )
        return report["new"]

    @task(
        max_active_tis_per_dagrun=None if PARALLEL else 1,
        map_index_template="{{ video }}",
        retry_delay=timedelta(minutes=1),
    )
    def index_video(source: str) -> dict[str, Any]:
        """Index one video (downloaded first if it is a URL)."""
        get_current_context()["video"] = os.path.basename(source.rstrip("/")) or source  # type: ignore[typeddict-unknown-key]
        p = values(PARAMS, "staging", "max_download_bytes", *SETTINGS)
        return run_step(
            steps.index_video,
            source=source,
            settings=settings_values(p),
            staging=p["staging"],
            max_download_bytes=p["max_download_bytes"],
        )

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def refresh_stats(discovered: list[str], reports: Any) -> dict[str, Any]:
        """The index's counts once every video is done (failed ones included)."""
        p = values(PARAMS, "optimize_min_points", *SETTINGS)
        return run_step(
            steps.refresh_stats,
            settings=settings_values(p),
            discovered=discovered,
            reports=list(reports or []),
            optimize_min_points=p["optimize_min_points"],
        )

    @task
    def all_indexed(reports: Any) -> dict[str, int]:
        """Runs only when every video was indexed or skipped; else the run fails here."""
        done = list(reports or [])
        return {
            "indexed": sum(r["status"] == "indexed" for r in done),
            "skipped": sum(r["status"] == "skipped" for r in done),
        }

    found = discover()
    reports = index_video.expand(source=found)
    refresh_stats(found, reports)
    all_indexed(reports)


video_ingest()
