"""/metrics: HTTP and vidsearch metrics move as the server works; every metric the Grafana
dashboard queries is really exported; a real Prometheus scrapes the app and answers a query."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from disk_support import du_bytes
from service_support import free_port, serving
from system_programs import require_program
from vidsearch.config import DataDir
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import SceneSpan

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and"}
PROMQL_WORDS |= {"or", "unless", "offset", "le", "inf", "nan"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("metrics") / "home"


@pytest.fixture(scope="module")
def server(
    home: Path, tiny_model: Path, standard_video: tuple[Path, list[SceneSpan]]
) -> Iterator[LiveServer]:
    with serving(home, tiny_model, standard_video[0]) as live:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            assert http.get("/search", params={"q": "a scene"}).status_code == 200
            assert http.get("/videos/none.mp4").status_code == 404
        yield live


def samples(url: str) -> dict[str, list]:
    """Exported samples by name (histograms and counters with their suffixes)."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def value(found: dict[str, list], name: str, **labels: str) -> float:
    matching = [s for s in found[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert matching, (name, labels)
    return sum(s.value for s in matching)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, keywords and labels left out)."""
    expr = re.sub(r'"[^"]*"', "", expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\b\d+(\.\d+)?[smhdwy]*\b", "", expr)  # numbers and durations
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        following = expr[match.end() :].lstrip()
        if following.startswith("(") or match.group() in PROMQL_WORDS:
            continue  # a function, an aggregation or a keyword
        names.add(match.group())
    return names


def test_metric_names_parser() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, handler) (rate(http_x_bucket{job="v",a=~"5.."}'
        "[$__rate_interval]))) / on (x) time() - process_start_time_seconds offset 5m"
    )
    assert metric_names(expr) == {"http_x_bucket", "process_start_time_seconds"}


def test_metrics_follow_the_work(server: LiveServer) -> None:
    before = samples(server.url)
    assert value(before, "vidsearch_frames_indexed_total") == 6
    assert value(before, "vidsearch_index_frames") == 6
    assert value(before, "vidsearch_index_videos") == 1
    assert value(before, "vidsearch_index_bytes") > 0
    assert value(before, "vidsearch_model_load_seconds") > 0
    assert value(before, "vidsearch_model_loaded") == 1
    assert value(before, "vidsearch_jobs_running") == 0
    assert value(before, "vidsearch_jobs_queued") == 0
    assert value(before, "vidsearch_jobs_finished_total", result="done") == 1
    assert value(before, "process_start_time_seconds") > 0

    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(3):
            assert http.get("/search", params={"q": "a dog"}).status_code == 200
        assert http.get("/search").status_code == 422
    after = samples(server.url)
    for stage in ("encode", "vector_search", "total"):
        grown = value(after, "vidsearch_search_seconds_count", stage=stage) - value(
            before, "vidsearch_search_seconds_count", stage=stage
        )
        assert grown == 3, stage
    requests = value(after, "http_requests_total", handler="/search", status="2xx")
    assert requests - value(before, "http_requests_total", handler="/search", status="2xx") == 3
    assert value(after, "http_requests_total", handler="/search", status="4xx") >= 1
    assert value(after, "http_request_duration_seconds_count", handler="/search") >= 4
    assert value(after, "http_response_size_bytes_sum", handler="/search") > 0
    assert "/metrics" not in {s.labels.get("handler") for s in after["http_requests_total"]}


def handlers(found: dict[str, list]) -> set[str]:
    return {s.labels["handler"] for s in found["http_requests_total"]}


def test_index_bytes_is_the_size_on_disk(server: LiveServer, home: Path) -> None:
    """What du says the index's parts take (Qdrant preallocates: the files' apparent size is
    hundreds of times larger)."""
    data_dir = DataDir(home)
    parts = [data_dir.part(name) for name in DataDir.INDEX_PARTS if data_dir.part(name).exists()]
    assert {data_dir.catalog, data_dir.frames_shard, data_dir.thumbnails} <= set(parts)
    reported = value(samples(server.url), "vidsearch_index_bytes")
    assert reported == du_bytes(parts)
    assert reported >= du_bytes([data_dir.thumbnails]) + du_bytes([data_dir.catalog]) > 0


def test_unknown_paths_add_no_series(server: LiveServer) -> None:
    """A few hundred made-up paths (one segment: Starlette redirects them to the seed route;
    deeper: 404; methods no route takes: 405) leave the set of handler labels as it was, but
    for the one label of unmatched requests; no path a client chose is in the scrape."""
    rng = random.Random(17)
    made_up = [f"/zz{rng.randrange(10**9)}" for _ in range(300)]
    deeper = [f"{path}/x" for path in made_up[::2]]
    before = samples(server.url)
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as http:
        assert {http.get(path).status_code for path in made_up} == {307}
        assert {http.get(path).status_code for path in deeper} == {404}
        assert http.put("/search").status_code == 405
    after = samples(server.url)
    assert handlers(after) - handlers(before) <= {"unmatched"}
    unmatched = [
        sum(s.value for s in found["http_requests_total"] if s.labels["handler"] == "unmatched")
        for found in (before, after)
    ]
    assert unmatched[1] - unmatched[0] == len(made_up) + len(deeper)
    assert value(after, "http_requests_total", handler="/search", method="PUT") == 1
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    assert not [p for p in made_up if p in text]


def test_every_dashboard_metric_is_exported(server: LiveServer) -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/vidsearch.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in metric_names(target["expr"])
    }
    assert {"http_requests_total", "vidsearch_frames_indexed_total"} <= queried
    exported = set(samples(server.url))
    assert queried - exported == set(), f"the dashboard queries metrics nobody exports: {queried}"


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    return require_program("prometheus", "prometheus")


@pytest.mark.slow
def test_real_prometheus_scrapes_the_app(
    prometheus_binary: str, server: LiveServer, tmp_path: Path
) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())  # the shipped config...
    config["global"]["scrape_interval"] = "1s"
    config["scrape_configs"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{server.port}"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))  # ...aimed at this app
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus_binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        result = None
        deadline = time.monotonic() + 90
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as prometheus:
            while time.monotonic() < deadline:
                assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
                try:
                    response = prometheus.get(
                        "/api/v1/query", params={"query": 'vidsearch_index_frames{job="vidsearch"}'}
                    )
                    # 503 in plain text while it starts
                    answer = response.json() if response.status_code == 200 else {}
                except httpx.TransportError:
                    answer = {}
                if answer.get("status") == "success" and answer["data"]["result"]:
                    result = answer["data"]["result"]
                    break
                time.sleep(0.5)
            assert result, "Prometheus never scraped vidsearch_index_frames"
            assert result[0]["metric"]["instance"] == f"127.0.0.1:{server.port}"
            assert float(result[0]["value"][1]) == 6
            up = prometheus.get("/api/v1/query", params={"query": "up"}).json()
            assert up["data"]["result"][0]["value"][1] == "1"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        log.close()
