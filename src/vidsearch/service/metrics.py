"""Prometheus metrics: HTTP traffic per route (prometheus-fastapi-instrumentator) and
vidsearch's own, in a registry per app so that several apps can live in one process (tests).

HTTP (per handler): http_requests_total, http_request_duration_seconds (histogram),
http_request_size_bytes, http_response_size_bytes. `handler` is the template of the route that
answered (`/videos/{name}`); every request no route answered (404s, the slash redirects) is
`handler="unmatched"`, so no URL can add a series.
vidsearch: frames indexed, index size, search latency by stage, model load time, jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator import metrics as http_metrics
from starlette.responses import PlainTextResponse
from starlette.types import Scope

REQUEST_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SEARCH_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SEARCH_STAGES = ("encode", "vector_search", "total")
JOB_RESULTS = ("done", "failed", "cancelled")
UNMATCHED_HANDLER = "unmatched"  # the handler label of requests no route answered


@dataclass(frozen=True, slots=True)
class IndexStats:
    videos: int
    frames: int
    bytes: int


class _IndexCollector(Collector):
    """Index size, read from the catalog when Prometheus scrapes."""

    def __init__(self, stats: Callable[[], IndexStats | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self._stats()
        if stats is None:
            return
        yield GaugeMetricFamily("vidsearch_index_videos", "Videos in the index", stats.videos)
        yield GaugeMetricFamily(
            "vidsearch_index_frames", "Frames (points) in the index", stats.frames
        )
        yield GaugeMetricFamily(
            "vidsearch_index_bytes",
            "Bytes on disk (allocated blocks, as du counts them) of the index in the data "
            "directory: catalog files, frame and dialogue shards, thumbnails (with a Qdrant "
            "server, what it holds is not counted)",
            stats.bytes,
        )


def handler_label(scope: Scope) -> str:
    """The template of the route that answered the request (Starlette leaves it in the
    scope), or UNMATCHED_HANDLER: never the raw path, which a client chooses."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_HANDLER


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.start_time = Gauge(
            "vidsearch_start_time_seconds", "When the server started (unix time)", registry=r
        )
        self.start_time.set(time.time())
        self.frames_indexed = Counter(
            "vidsearch_frames_indexed", "Frames embedded and stored by this server", registry=r
        )
        self.search_seconds = Histogram(
            "vidsearch_search_seconds",
            "Search latency by stage: encode the query, vector search (with grouping), total",
            ["stage"],
            buckets=SEARCH_LATENCY_BUCKETS,
            registry=r,
        )
        for stage in SEARCH_STAGES:
            self.search_seconds.labels(stage)
        self.model_load_seconds = Gauge(
            "vidsearch_model_load_seconds", "Time taken to load the model at start-up", registry=r
        )
        self.model_loaded = Gauge(
            "vidsearch_model_loaded", "1 once the model is loaded", registry=r
        )
        self.jobs_running = Gauge("vidsearch_jobs_running", "Indexing jobs running", registry=r)
        self.jobs_queued = Gauge("vidsearch_jobs_queued", "Indexing jobs waiting", registry=r)
        self.jobs_finished = Counter(
            "vidsearch_jobs_finished", "Indexing jobs finished, by result", ["result"], registry=r
        )
        for result in JOB_RESULTS:
            self.jobs_finished.labels(result)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.search_seconds.labels(stage).observe(time.perf_counter() - started)

    def watch_index(self, stats: Callable[[], IndexStats | None]) -> None:
        self.registry.register(_IndexCollector(stats))

    def instrument(self, app: FastAPI) -> None:
        """Per-route request count, latency and sizes, and the /metrics route."""
        http = http_metrics.default(
            latency_lowr_buckets=REQUEST_LATENCY_BUCKETS, registry=self.registry
        )
        assert http is not None  # None only when the metrics already exist in the registry

        def by_route(info: http_metrics.Info) -> None:
            # the instrumentator labels a slash redirect with its raw path: relabel after
            # routing, from the route that answered
            info.modified_handler = handler_label(info.request.scope)
            http(info)

        Instrumentator(
            should_group_status_codes=True,
            excluded_handlers=["/metrics"],
            registry=self.registry,
        ).add(by_route).instrument(app).expose(
            app,
            endpoint="/metrics",
            include_in_schema=True,
            tags=["monitoring"],
            # documented as what it is: Prometheus' text format, not JSON
            response_class=PlainTextResponse,
            summary="Prometheus metrics (text exposition format)",
        )
