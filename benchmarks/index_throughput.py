"""Indexing throughput: vidsearch vs a naive pipeline, side by side in one run.

    python benchmarks/index_throughput.py [--minutes 10] [--variants | --only A,B]

Footage: see _footage.py (1280x720 H.264, libx264 defaults, shot cuts, moving textures).
Model: a random CLIP with OpenAI ViT-B/32's architecture (true compute cost, offline).
Each pipeline runs in its own process (so peak RSS is its own); model loading is timed
separately from indexing ("start-up"). The naive baseline reads every frame with OpenCV,
keeps one per second and embeds it with eager PyTorch CLIP at batch 1.

Prints a table and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _footage import CACHE, clips, footage  # noqa: E402

MODEL_DIR = CACHE / "clip-vit-b32-random"


def ensure_model() -> Path:
    if not (MODEL_DIR / "model.safetensors").is_file():
        from vidsearch.testing.tiny_model import write_tiny_model

        write_tiny_model(MODEL_DIR, full_size=True)
    return MODEL_DIR


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (decoder workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def children_peak_rss_mb() -> float:
    """The largest peak RSS (VmHWM) among this process's live children: the decoder workers.
    (getrusage's RUSAGE_CHILDREN would report the parent's size: a spawned child is a fork of
    it until it execs.)"""
    import psutil

    peaks = [0.0]
    for child in psutil.Process().children():
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return max(peaks)


def run_vidsearch(video: Path, options: dict) -> dict:
    started = time.perf_counter()  # start-up includes imports
    from vidsearch.encoders import open_encoder
    from vidsearch.index import IndexStore
    from vidsearch.ingest import Ingestor
    from vidsearch.media.pool import open_decoder
    from vidsearch.types import DecodeMode, EncoderBackend

    encoder = open_encoder(
        str(MODEL_DIR),
        backend=EncoderBackend(options["backend"]),
        cache_dir=CACHE / "vidsearch-cache",
        int8=options["int8"],
    ).load()
    encoder.encode_images([__import__("numpy").zeros((224, 224, 3), "uint8")])  # warm-up
    startup = time.perf_counter() - started
    decoder = open_decoder(options.get("workers"), DecodeMode(options["decode"]))
    with tempfile.TemporaryDirectory() as home, IndexStore(Path(home)) as store, decoder:
        ingestor = Ingestor(store, encoder, decoder=decoder)
        started, cpu = time.perf_counter(), cpu_seconds()
        reports = list(ingestor.index_paths([video]))  # a file, or a folder of clips
        wall = time.perf_counter() - started
        workers_peak = children_peak_rss_mb()
    cpu = cpu_seconds() - cpu  # the workers have ended: their time is counted
    assert reports and all(r.status.value == "indexed" for r in reports), reports
    return {
        "startup_s": startup,
        "wall_s": wall,
        "cpu_s": cpu,
        "videos": len(reports),
        "decoded": sum(r.decoded for r in reports),
        "embedded": sum(r.encoded for r in reports),
        "duration_s": sum(r.duration for r in reports),
        "peak_rss_mb": peak_rss_mb(),
        "workers_peak_rss_mb": workers_peak,
    }


def run_baseline(video: Path, options: dict) -> dict:
    """OpenCV every frame, one kept per second, eager PyTorch CLIP at batch 1."""
    started = time.perf_counter()  # start-up includes imports
    import cv2
    import numpy as np
    import torch
    from transformers import CLIPModel

    from vidsearch.encoders.preprocess import PreprocessConfig, to_pixel_values

    model = CLIPModel.from_pretrained(MODEL_DIR).eval()
    config = PreprocessConfig()
    startup = time.perf_counter() - started
    started = time.perf_counter()
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25
    step = max(1, round(fps))
    decoded = embedded = 0
    vectors = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if decoded % step == 0:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            pixels = torch.from_numpy(to_pixel_values([rgb], config))
            with torch.no_grad():
                out = model.get_image_features(pixel_values=pixels)
            vectors.append(getattr(out, "pooler_output", out).numpy()[0])
            embedded += 1
        decoded += 1
    capture.release()
    wall = time.perf_counter() - started
    return {
        "startup_s": startup,
        "wall_s": wall,
        "cpu_s": cpu_seconds(),  # start-up included: an upper bound
        "videos": 1,
        "decoded": decoded,
        "embedded": embedded,
        "duration_s": decoded / fps,
        "peak_rss_mb": peak_rss_mb(),
        "vectors_norm_mean": float(np.linalg.norm(np.array(vectors), axis=1).mean()),
    }


PIPELINES = {
    # name: (runner, options); workers None: the usable cores (the default)
    "vidsearch": ("vidsearch", {"backend": "auto", "decode": "fast", "int8": False}),
    "vidsearch-workers1": (
        "vidsearch",
        {"backend": "auto", "decode": "fast", "int8": False, "workers": 1},
    ),
    "vidsearch-workers2": (
        "vidsearch",
        {"backend": "auto", "decode": "fast", "int8": False, "workers": 2},
    ),
    "vidsearch-int8": ("vidsearch", {"backend": "auto", "decode": "fast", "int8": True}),
    "vidsearch-int8-workers1": (
        "vidsearch",
        {"backend": "auto", "decode": "fast", "int8": True, "workers": 1},
    ),
    "vidsearch-exact-decode": ("vidsearch", {"backend": "auto", "decode": "exact", "int8": False}),
    "vidsearch-torch": ("vidsearch", {"backend": "torch", "decode": "fast", "int8": False}),
    "vidsearch-keyframes": ("vidsearch", {"backend": "auto", "decode": "keyframes", "int8": False}),
    "baseline": ("baseline", {}),
}


# Pipelines run on other footage than the --minutes video (name: what they index).
FOLDER_RUNS = {"8-clips-of-1-min": "clips", "1-video-of-8-min": "long"}


def child(name: str, video: Path) -> dict:
    """Run one pipeline in a fresh process and return its figures."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--video", str(video)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--variants", action="store_true", help="also run int8, exact decoding and PyTorch variants"
    )
    parser.add_argument(
        "--only",
        help="comma-separated pipelines to run (always with the baseline), e.g. "
        "vidsearch,vidsearch-keyframes",
    )
    parser.add_argument(
        "--folders",
        action="store_true",
        help="also index a folder of 8 one-minute clips and one 8-minute video (default workers)",
    )
    parser.add_argument("--child")
    parser.add_argument("--video", type=Path)
    args = parser.parse_args()
    if args.child:
        runner, options = PIPELINES[args.child]
        fn = run_vidsearch if runner == "vidsearch" else run_baseline
        print(json.dumps(fn(args.video, options)))
        return

    video = footage(args.minutes)
    ensure_model()
    # one-off ONNX exports (cached) before anything is timed
    subprocess.run(
        [sys.executable, "-m", "vidsearch", "export-onnx", "--int8", "--model", str(MODEL_DIR)],
        check=True,
        capture_output=True,
        env={**os.environ, "VIDSEARCH_CACHE_DIR": str(CACHE / "vidsearch-cache")},
    )
    names = ["baseline", "vidsearch"]
    if args.variants:
        names += ["vidsearch-workers1", "vidsearch-workers2"]
        names += [
            "vidsearch-int8",
            "vidsearch-exact-decode",
            "vidsearch-torch",
            "vidsearch-keyframes",
        ]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(PIPELINES))
        if unknown:
            parser.error(f"unknown pipelines {unknown}; known: {sorted(PIPELINES)}")
        names = ["baseline", *[n for n in wanted if n != "baseline"]]
    runs = [(name, name, video) for name in names]
    if args.folders:
        inputs = {"clips": clips(8, 1.0), "long": footage(8.0)}
        runs += [(label, "vidsearch", inputs[kind]) for label, kind in FOLDER_RUNS.items()]
    print(f"load average before: {os.getloadavg()}", flush=True)
    results = {}
    for label, name, path in runs:
        r = child(name, path)
        r["decoded_fps"] = r["decoded"] / r["wall_s"]
        r["embedded_fps"] = r["embedded"] / r["wall_s"]
        r["realtime_x"] = r["duration_s"] / r["wall_s"]
        r["cpu_per_video_s"] = r["cpu_s"] / r["duration_s"]
        results[label] = r
        print(
            f"{label:24s} {r['realtime_x']:6.1f}x real time  {r['wall_s']:7.1f}s  "
            f"CPU {r['cpu_s']:6.1f}s  "
            f"decoded {r['decoded']:6d} ({r['decoded_fps']:5.0f}/s)  "
            f"embedded {r['embedded']:5d} ({r['embedded_fps']:5.1f}/s)  "
            f"start-up {r['startup_s']:5.1f}s  peak RSS {r['peak_rss_mb']:5.0f} MB "
            f"(workers {r.get('workers_peak_rss_mb', 0):4.0f} MB)",
            flush=True,
        )
    base = results["baseline"]["realtime_x"]
    ratios = {n: r["realtime_x"] / base for n, r in results.items()}
    for name, ratio in ratios.items():
        print(f"{name:24s} {ratio:5.2f}x the baseline's real-time factor")
    print(
        json.dumps(
            {
                "benchmark": "index_throughput",
                "video": video.name,
                "minutes": args.minutes,
                "cpus": os.cpu_count(),
                "load_average_after": os.getloadavg(),
                "results": results,
                "ratio_to_baseline": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
