"""50 concurrent searches while a long video is being indexed: all answer, correctly, and the
event loop stays responsive (the encoder and the index run in worker threads)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service_support import assert_json_error, serving, upload, wait_job
from vidsearch.testing.server import LiveServer
from vidsearch.testing.videos import Scene, SceneKind, SceneSpan, write_video

CONCURRENT = 50
LONG_VIDEO_S = 240
FPS = 25

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    scenes = [Scene(SceneKind.TEXTURE, 10 * FPS, color=i) for i in range(LONG_VIDEO_S // 10)]
    write_video(path, scenes, fps=FPS)
    return path


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model: Path,
    standard_video: tuple[Path, list[SceneSpan]],
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("busy") / "home"
    with serving(home, tiny_model, standard_video[0]) as live:
        yield live


async def _burst(url: str) -> tuple[list[httpx.Response], list[float], list[float], float]:
    """CONCURRENT searches at once, plus a liveness probe in the middle of them."""
    limits = httpx.Limits(max_connections=CONCURRENT + 5)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def one(i: int) -> tuple[httpx.Response, float, float]:
            started = time.perf_counter()
            response = await http.get("/search", params={"q": f"scene number {i}", "top_k": 3})
            return response, time.perf_counter() - started, time.time()

        async def probe() -> float:
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            assert (await http.get("/healthz")).status_code == 200
            return time.perf_counter() - started

        results, health = await asyncio.gather(
            asyncio.gather(*(one(i) for i in range(CONCURRENT))), probe()
        )
    return [r for r, _, _ in results], [t for _, t, _ in results], [w for *_, w in results], health


def test_concurrent_searches_while_indexing(server: LiveServer, long_video: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        response = upload(http, long_video)
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 60
        while (job := http.get(f"/jobs/{job_id}").json())["frames_done"] == 0:
            assert time.monotonic() < deadline and job["state"] in ("queued", "running"), job
            time.sleep(0.05)
        assert job["state"] == "running"

        burst_started = time.time()
        responses, latencies, answered_at, health = asyncio.run(_burst(server.url))
        burst_ended = time.time()
        during = http.get(f"/jobs/{job_id}").json()

        assert [r.status_code for r in responses] == [200] * CONCURRENT
        for i, r in enumerate(responses):
            body = r.json()
            assert body["query"] == f"scene number {i}"
            assert 1 <= len(body["moments"]) <= 3
        # the searches really ran while the video was being indexed
        assert job["started_at"] <= burst_started
        finished = during["finished_at"] or float("inf")
        overlapping = sum(t < finished for t in answered_at)
        assert overlapping >= CONCURRENT // 2, (overlapping, during)
        assert health < 2.0, f"the event loop was blocked for {health:.2f}s"

        p50 = statistics.median(latencies)
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(
            f"\n{CONCURRENT} concurrent searches while indexing: p50 {p50 * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
            f"burst {burst_ended - burst_started:.2f} s, /healthz {health * 1000:.0f} ms"
        )
        assert max(latencies) < 60

        done = wait_job(http, job_id, timeout=300)
        assert done["state"] == "done", done
        assert done["frames_done"] == LONG_VIDEO_S * FPS
        names = {v["name"]: v for v in http.get("/videos").json()["videos"]}
        assert names["long.mp4"]["complete"] and names["long.mp4"]["frames"] >= LONG_VIDEO_S // 10
        assert names["standard.mp4"]["frames"] == 6  # the other video is untouched
        found = http.get("/search", params={"q": "scene", "video": "long.mp4"}).json()
        assert found["moments"]


def test_a_language_the_model_cannot_read_is_refused_plainly(server: LiveServer) -> None:
    """A bare CLIP directory reads English only: a Persian query gets a 400 naming a bundle
    that can read it."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.get("/search", params={"q": "مردی که در ساحل می‌دود"})
    assert_json_error(response, 400, "cannot read Persian", "multilingual-b32")
