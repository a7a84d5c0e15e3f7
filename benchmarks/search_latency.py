"""Query latency at scale: Qdrant Edge as vidsearch configures it, on clustered vectors.

    python benchmarks/search_latency.py [--sizes 100000,1000000] [--queries 200]

Vectors are 512-d and clustered like video frames: shots of 20 near-duplicate frames
(cosine ~0.8 to their shot's centre), shots grouped into videos. Queries are shot centres
with heavy noise (cosine ~0.55, as a text query is to its frames), so the true top 10 are
near-ties among a shot's frames: a hard case for approximate search. Ground truth is
computed once by brute force (numpy) and stored beside the index. For each size it
reports, side by side:
  * full scan (exact) vs HNSW (+ int8 scalar quantisation with rescoring): p50/p99 latency
    and recall@10 against exact search;
  * build time (upserts, then the blocking optimize()), on-disk size, RSS of a process
    that opens the index and serves queries;
  * end-to-end text-query latency through the Python API (text encoding with a random
    ViT-B/32-sized CLIP text tower on ONNX Runtime + search + moment grouping).
Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _footage import CACHE  # noqa: E402

DIM = 512
FRAMES_PER_SHOT = 20
SHOTS_PER_VIDEO = 500
UPSERT_BATCH = 2000


def clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, shot index per vector): unit vectors, near-duplicates within a shot."""
    rng = np.random.default_rng(seed)
    shots = max(1, n // FRAMES_PER_SHOT)
    centres = rng.normal(size=(shots, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    shot_of = np.minimum(np.arange(n) // FRAMES_PER_SHOT, shots - 1)
    noise = rng.normal(scale=0.75 / np.sqrt(DIM), size=(n, DIM)).astype(np.float32)
    vectors = centres[shot_of] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, shot_of


def queries(vectors: np.ndarray, shot_of: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shots = rng.choice(int(shot_of.max()) + 1, size=count, replace=False)
    centres = np.stack([vectors[shot_of == s].mean(axis=0) for s in shots])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    q = centres + rng.normal(scale=1.5 / np.sqrt(DIM), size=(count, DIM)).astype(np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def exact_top(vectors: np.ndarray, q: np.ndarray, k: int = 10) -> np.ndarray:
    """Indices of the true top k for each query (brute force, in chunks)."""
    best_scores = np.full((len(q), k), -np.inf, np.float32)
    best_ids = np.zeros((len(q), k), np.int64)
    for start in range(0, len(vectors), 100_000):
        scores = q @ vectors[start : start + 100_000].T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        merged_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, 1)], 1)
        merged_ids = np.concatenate([best_ids, top + start], axis=1)
        keep = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, keep, 1)
        best_ids = np.take_along_axis(merged_ids, keep, 1)
    return best_ids


def build(path: Path, n: int, count: int) -> dict:
    from vidsearch.index.base import FramePoint
    from vidsearch.index.edge import EdgeVectorIndex

    vectors, shot_of = clustered(n)
    q = queries(vectors, shot_of, count)
    truth = exact_top(vectors, q)
    shutil.rmtree(path, ignore_errors=True)
    index = EdgeVectorIndex(path, DIM)
    started = time.perf_counter()
    for start in range(0, n, UPSERT_BATCH):
        batch = [
            FramePoint(
                f"video{int(shot_of[i]) // SHOTS_PER_VIDEO}",
                i,
                i / 25.0,
                int(shot_of[i]),
                0.0,
                1.0,
                vectors[i],
            )
            for i in range(start, min(n, start + UPSERT_BATCH))
        ]
        index.upsert(batch)
    index.flush()
    upsert_s = time.perf_counter() - started
    started = time.perf_counter()
    index.optimize(min_points=0)
    optimize_s = time.perf_counter() - started
    index.close()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    np.savez(path.with_suffix(".queries.npz"), queries=q, truth=truth)
    return {"upsert_s": upsert_s, "optimize_s": optimize_s, "disk_mb": size / 2**20}


def serve(path: Path, n: int, count: int) -> dict:
    """Open the built index in this (fresh) process and time queries."""
    import resource

    from vidsearch.index.edge import EdgeVectorIndex

    saved = np.load(path.with_suffix(".queries.npz"))
    q, truth = saved["queries"], [set(row.tolist()) for row in saved["truth"]]
    index = EdgeVectorIndex(path, DIM)
    results = {}
    for label, exact in (("exact", True), ("hnsw", False)):
        latencies, recalls = [], []
        for i, query in enumerate(q):
            started = time.perf_counter()
            hits = index.search(query, 10, exact=exact)
            latencies.append((time.perf_counter() - started) * 1000)
            recalls.append(len({h.pts for h in hits} & truth[i]) / 10)
        results[label] = {
            "p50_ms": float(np.percentile(latencies, 50)),
            "p99_ms": float(np.percentile(latencies, 99)),
            "recall_at_10": float(np.mean(recalls)),
        }
    results["rss_mb"] = _rss_mb()
    results["rss_anon_mb"] = _rss_mb("RssAnon:")  # heap: what the process really holds
    results["rss_file_mb"] = _rss_mb("RssFile:")  # mmapped index pages (reclaimable cache)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    index.close()
    return results


def sweep(path: Path, settings: list[tuple[int, float]]) -> list[dict]:
    """HNSW search only, on an index already built, for several (ef, oversampling) pairs:
    the search-time knobs, tuned without rebuilding."""
    from vidsearch.index.edge import EdgeTuning, EdgeVectorIndex

    saved = np.load(path.with_suffix(".queries.npz"))
    q, truth = saved["queries"], [set(row.tolist()) for row in saved["truth"]]
    rows = []
    for ef, oversampling in settings:
        index = EdgeVectorIndex(path, DIM, EdgeTuning(search_ef=ef, oversampling=oversampling))
        index.search(q[0], 10)  # warm
        latencies, recalls = [], []
        for i, query in enumerate(q):
            started = time.perf_counter()
            hits = index.search(query, 10)
            latencies.append((time.perf_counter() - started) * 1000)
            recalls.append(len({h.pts for h in hits} & truth[i]) / 10)
        index.close()
        rows.append(
            {
                "ef": ef,
                "oversampling": oversampling,
                "p50_ms": float(np.percentile(latencies, 50)),
                "p99_ms": float(np.percentile(latencies, 99)),
                "recall_at_10": float(np.mean(recalls)),
            }
        )
        print(
            f"ef={ef:4d} oversampling={oversampling:3.1f}: p50 {rows[-1]['p50_ms']:6.2f} ms "
            f"p99 {rows[-1]['p99_ms']:6.2f} ms recall@10 {rows[-1]['recall_at_10']:.3f}",
            flush=True,
        )
    return rows


def _rss_mb(field: str = "VmRSS:") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def end_to_end(n_videos: int = 20, frames: int = 20_000, count: int = 100) -> dict:
    """Text query -> moments through Searcher, with a B/32-sized text tower on ONNX."""
    import tempfile

    from index_throughput import MODEL_DIR, ensure_model

    from vidsearch.encoders import open_encoder
    from vidsearch.index import IndexStore
    from vidsearch.index.base import FramePoint
    from vidsearch.search import Searcher
    from vidsearch.types import VideoRecord, VideoState

    ensure_model()
    encoder = open_encoder(str(MODEL_DIR), cache_dir=CACHE / "vidsearch-cache").load()
    vectors, shot_of = clustered(frames)
    with tempfile.TemporaryDirectory() as home, IndexStore(Path(home)) as store:
        store.bind_model(encoder.identity, encoder.name, encoder.dim)
        for v in range(n_videos):
            store.catalog.start(
                VideoRecord(
                    f"video{v}",
                    f"video{v}.mp4",
                    f"/v/{v}.mp4",
                    1,
                    1,
                    600.0,
                    0,
                    VideoState.COMPLETE,
                    encoder.identity,
                    "",
                )
            )
        points = [
            FramePoint(f"video{i % n_videos}", i, i / 25.0, int(shot_of[i]), 0.0, 1.0, vectors[i])
            for i in range(frames)
        ]
        store.vectors.upsert(points)
        searcher = Searcher(store, encoder)
        searcher.search_text("warm up")
        timings = {"encode": [], "total": []}
        for i in range(count):
            started = time.perf_counter()
            encoder.encode_texts([f"a man running on the beach at sunset, take {i}"])
            timings["encode"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            searcher.search_text(f"a man running on the beach at sunset, take {i}", top_k=10)
            timings["total"].append((time.perf_counter() - started) * 1000)
    return {
        f"{k}_{p}_ms": float(np.percentile(v, q))
        for k, v in timings.items()
        for p, q in (("p50", 50), ("p99", 99))
    } | {"frames": frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sweep",
        type=int,
        metavar="N",
        help="tune search ef/oversampling on the built index of N vectors",
    )
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end query")
    args = parser.parse_args()
    if args.sweep:
        grid = [(ef, o) for ef in (128, 256, 512) for o in (2.0, 4.0)]
        print(
            json.dumps(
                {
                    "benchmark": "search_sweep",
                    "n": args.sweep,
                    "rows": sweep(CACHE / f"vectors-{args.sweep}", grid),
                }
            )
        )
        return
    if args.e2e_only:
        print(json.dumps({"benchmark": "search_e2e", "end_to_end": end_to_end(count=args.queries)}))
        return
    if args.serve:
        print(json.dumps(serve(CACHE / f"vectors-{args.serve}", args.serve, args.queries)))
        return
    report = {"benchmark": "search_latency", "cpus": os.cpu_count(), "sizes": {}}
    for n in (int(s) for s in args.sizes.split(",")):
        path = CACHE / f"vectors-{n}"
        figures = build(path, n, args.queries)
        out = subprocess.run(
            [sys.executable, __file__, "--serve", str(n), "--queries", str(args.queries)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures |= json.loads(out.stdout.strip().splitlines()[-1])
        report["sizes"][n] = figures
        e, h = figures["exact"], figures["hnsw"]
        print(
            f"{n:>9,} vectors: build {figures['upsert_s']:.0f}s upsert + "
            f"{figures['optimize_s']:.0f}s optimize, {figures['disk_mb']:.0f} MB on disk, "
            f"serving RSS {figures['rss_mb']:.0f} MB ({figures['rss_anon_mb']:.0f} MB heap, "
            f"{figures['rss_file_mb']:.0f} MB mapped index files)",
            flush=True,
        )
        print(
            f"   exact scan   p50 {e['p50_ms']:6.2f} ms  p99 {e['p99_ms']:6.2f} ms  "
            f"recall@10 {e['recall_at_10']:.3f}"
        )
        print(
            f"   hnsw+int8    p50 {h['p50_ms']:6.2f} ms  p99 {h['p99_ms']:6.2f} ms  "
            f"recall@10 {h['recall_at_10']:.3f}  ({e['p50_ms'] / h['p50_ms']:.0f}x faster)",
            flush=True,
        )
    e2e = end_to_end(count=args.queries)
    report["end_to_end"] = e2e
    print(
        f"end-to-end text query ({e2e['frames']:,} frames): p50 {e2e['total_p50_ms']:.1f} ms"
        f" p99 {e2e['total_p99_ms']:.1f} ms (text encoding p50 {e2e['encode_p50_ms']:.1f} ms)"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
