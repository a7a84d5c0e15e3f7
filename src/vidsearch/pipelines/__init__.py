"""Orchestrated pipelines: the steps of the `persian_clip` and `video_ingest` workflows.

Each step is a plain function that takes JSON-able arguments and returns a JSON-able report
(what an Airflow XCom carries), so it runs the same under Airflow, from a test or from a
notebook. Steps are idempotent (a rerun after success changes nothing; after a failure it
continues) and raise vidsearch's own errors; `is_permanent` says which ones a retry cannot fix.

    params         the parameters of each workflow, and how an empty one is filled in
    downloads      videos given as http(s) URLs, staged resumably with a size bound
    video_ingest   discover new videos, index one video, refresh the index's statistics
    persian_clip   import captions, translate, filter, crawl, merge (the training data)
    candidate      train a candidate model, evaluate it against the champion, promote it
    dags/          the Airflow DAGs: thin TaskFlow wrappers over these steps (the `airflow`
                   extra; nothing else here imports Airflow)

The core of vidsearch never imports this package.
"""

from __future__ import annotations

from vidsearch.pipelines.errors import PipelineError, is_permanent

__all__ = ["PipelineError", "is_permanent"]
