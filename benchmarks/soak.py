"""Soak test: the real `vidsearch serve` under bounded concurrent searches while videos are
uploaded, indexed and deleted, watching for server errors and memory growth.

    python benchmarks/soak.py [--seconds 60] [--clients 50] [--workdir DIR]

Builds a tiny random CLIP model and a few short clips (offline), starts `vidsearch serve` on
a free port of 127.0.0.1 as a child process, seeds the index, then for `--seconds`:
  * `--clients` async clients loop without pause: GET /search (90%), GET /videos (5%) and
    the thumbnail of a result (5%);
  * one uploader cycles through the clips: POST /videos, follow the job to its end,
    DELETE the video, next clip (so the index stays the same size: memory growth is not
    explained by more data);
  * the server's RSS (from /proc) is sampled every second, split into anonymous memory
    (the heap: a leak shows here) and file-backed pages (mostly the index's memory-mapped
    files, which grow as points are added, even deleted ones, until segments are optimised).
Reports requests/s, latency p50/p90/p99/max, status counts, 5xx and transport errors, upload
cycles, and the RSS trend: its least-squares slope over the second half of the run (after
warm-up allocations) and the first- vs second-half means. Prints a table and, last, one JSON
line. Linux only (/proc). The clients share the machine with the server: on a 2-core
machine they take a good part of it, so throughput is a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

API_KEY = "soak-test-key"
QUERIES = [
    "a man running on the beach at sunset",
    "a red car parked in the street",
    "two dogs playing in the snow",
    "a woman reading a book in a cafe",
    "children laughing in a green park",
    "a crowded market at night",
    "waves breaking on rocks",
]
SEED_CLIPS = 6
UPLOAD_CLIPS = 4
READY_TIMEOUT_S = 300
JOB_TIMEOUT_S = 120
KEEPALIVE_S = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> tuple[int, int]:
    """(anonymous, file-backed) resident bytes: the heap, and the mapped index files."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                values[key] = int(rest.split()[0]) * 1024
    return values["RssAnon"], values["RssFile"] + values.get("RssShmem", 0)


def prepare(workdir: Path, model: Path | None) -> tuple[Path, list[Path], list[Path]]:
    from vidsearch.testing.tiny_model import write_tiny_model
    from vidsearch.testing.videos import Scene, SceneKind, write_video

    if model is None:
        model = workdir / "tiny-clip"
        if not (model / "config.json").exists():
            write_tiny_model(model)
    clips = []
    for number in range(SEED_CLIPS + UPLOAD_CLIPS):
        path = workdir / "clips" / f"clip{number:02d}.mp4"
        if not path.exists():
            scenes = [Scene(SceneKind.TEXTURE, 50, color=number + i) for i in range(3)]
            write_video(path, scenes, seed=number)
        clips.append(path)
    return model, clips[:SEED_CLIPS], clips[SEED_CLIPS:]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    uploads: int = 0
    upload_failures: list[str] = field(default_factory=list)
    rss: list[tuple[float, int, int]] = field(default_factory=list)  # time, anon, file

    def record(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(seconds)


async def upload_cycle(http: httpx.AsyncClient, clip: Path, tally: Tally) -> None:
    headers = {"X-API-Key": API_KEY}
    with clip.open("rb") as file:
        response = await http.post(
            "/videos", files={"file": (clip.name, file, "video/mp4")}, headers=headers
        )
    if response.status_code != 202:
        tally.upload_failures.append(f"upload {clip.name}: {response.status_code} {response.text}")
        return
    job_id = response.json()["id"]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = (await http.get(f"/jobs/{job_id}")).json()
        if job["state"] in ("done", "failed", "cancelled"):
            break
        await asyncio.sleep(0.2)
    if job["state"] != "done":
        tally.upload_failures.append(f"job {clip.name}: {job['state']} {job.get('error')}")
    deleted = await http.delete(f"/videos/{clip.name}", headers=headers)
    if deleted.status_code != 200:
        tally.upload_failures.append(f"delete {clip.name}: {deleted.status_code}")
    tally.uploads += 1


async def searcher(http: httpx.AsyncClient, deadline: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    thumbnail: str | None = None
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.05:
            url, params = "/videos", None
        elif roll < 0.10 and thumbnail:
            url, params = thumbnail, None
        else:
            url, params = "/search", {"q": rng.choice(QUERIES), "top_k": rng.choice([5, 10, 20])}
        started = time.monotonic()
        try:
            response = await http.get(url, params=params)
        except httpx.HTTPError as exc:
            tally.transport_errors += 1
            tally.error_examples.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        tally.record(response.status_code, time.monotonic() - started)
        if response.status_code >= 400 and len(tally.error_examples) < 10:
            tally.error_examples.append(f"{url}: {response.status_code} {response.text[:200]}")
        if url == "/search" and response.status_code == 200:
            moments = response.json()["moments"]
            if moments and moments[0].get("thumbnail_url"):
                thumbnail = moments[0]["thumbnail_url"]


async def uploader(http: httpx.AsyncClient, clips: list[Path], deadline: float, tally: Tally):
    number = 0
    while time.monotonic() < deadline:
        await upload_cycle(http, clips[number % len(clips)], tally)
        number += 1


async def sampler(pid: int, deadline: float, tally: Tally) -> None:
    started = time.monotonic()
    while time.monotonic() < deadline:
        tally.rss.append((time.monotonic() - started, *rss_bytes(pid)))
        await asyncio.sleep(1.0)


async def soak(url: str, pid: int, seeds: list[Path], uploads: list[Path], args) -> Tally:
    tally = Tally()
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them: a
    # request sent on a connection the server is closing fails without any server fault
    limits = httpx.Limits(
        max_connections=args.clients + 4,
        max_keepalive_connections=args.clients,
        keepalive_expiry=KEEPALIVE_S,
    )
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        for clip in seeds:  # the index the searches run over; kept
            with clip.open("rb") as file:
                response = await http.post(
                    "/videos",
                    files={"file": (clip.name, file, "video/mp4")},
                    headers={"X-API-Key": API_KEY},
                )
            response.raise_for_status()
        while any(
            j["state"] in ("queued", "running") for j in (await http.get("/jobs")).json()["jobs"]
        ):
            await asyncio.sleep(0.2)
        for _ in range(20):  # warm-up: first searches allocate their buffers
            await http.get("/search", params={"q": "warm up"})
        deadline = time.monotonic() + args.seconds
        await asyncio.gather(
            sampler(pid, deadline, tally),
            uploader(http, uploads, deadline, tally),
            *(searcher(http, deadline, tally, seed) for seed in range(args.clients)),
        )
    return tally


def summarize(tally: Tally, seconds: float, clients: int) -> dict[str, object]:
    latencies = np.array(tally.latencies) * 1000
    times = np.array([t for t, _, _ in tally.rss])
    anon = np.array([a for _, a, _ in tally.rss]) / 2**20
    mapped = np.array([f for _, _, f in tally.rss]) / 2**20
    rss = anon + mapped
    half = len(rss) // 2

    def slope(values: np.ndarray) -> float:  # MiB per minute over the second half
        return float(np.polyfit(times[half:], values[half:], 1)[0]) * 60 if half > 2 else 0.0

    errors_5xx = sum(n for status, n in tally.statuses.items() if status >= 500)
    return {
        "seconds": seconds,
        "clients": clients,
        "requests": len(tally.latencies),
        "requests_per_s": round(len(tally.latencies) / seconds, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p90_ms": round(float(np.percentile(latencies, 90)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "max_ms": round(float(latencies.max()), 1),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors_5xx": errors_5xx,
        "transport_errors": tally.transport_errors,
        "upload_cycles": tally.uploads,
        "upload_failures": len(tally.upload_failures),
        "rss_start_mib": round(float(rss[0]), 1),
        "rss_end_mib": round(float(rss[-1]), 1),
        "rss_max_mib": round(float(rss.max()), 1),
        "rss_first_half_mean_mib": round(float(rss[:half].mean()), 1),
        "rss_second_half_mean_mib": round(float(rss[half:].mean()), 1),
        "rss_slope_second_half_mib_per_min": round(slope(rss), 2),
        "rss_anon_slope_second_half_mib_per_min": round(slope(anon), 2),
        "rss_file_slope_second_half_mib_per_min": round(slope(mapped), 2),
        "rss_every_10s_mib": [round(float(r)) for r in rss[::10]],
        "rss_anon_every_10s_mib": [round(float(r)) for r in anon[::10]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workdir", type=Path, help="keep the model, clips and index here")
    parser.add_argument("--model", type=Path, help="a model directory (default: a tiny CLIP)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vidsearch-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    model, seeds, uploads = prepare(workdir, args.model)
    home = workdir / f"home-{int(time.time())}"
    port = free_port()
    env = {
        **os.environ,
        "VIDSEARCH_API_KEY": API_KEY,
        "VIDSEARCH_CACHE_DIR": str(workdir / "cache"),
        "VIDSEARCH_INTERVAL": "1",
    }
    command = [sys.executable, "-m", "vidsearch", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--home", str(home), "--model", str(model)]
    log = (workdir / "server.log").open("w")
    server = subprocess.Popen([*command, "--log-level", "warning"], env=env, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {workdir / 'server.log'}")
            time.sleep(0.5)
        tally = asyncio.run(soak(url, server.pid, seeds, uploads, args))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    report = summarize(tally, args.seconds, args.clients)
    report["server_exit_code"] = server.returncode
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    for example in tally.error_examples[:5] + tally.upload_failures[:5]:
        print(f"  {example}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
