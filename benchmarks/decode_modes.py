"""Decoding and sampling alone (no encoder): what each decoder setting buys, side by side.

    python benchmarks/decode_modes.py [--minutes 10]

For each mode: frames decoded, video seconds per wall second, and the frames the sampler
keeps; `opencv` is the naive reader (every frame, converted to BGR) for reference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _footage import footage  # noqa: E402


def run_mode(video: Path, mode: str) -> dict:
    from vidsearch.media import DecodeMode, FrameSampler, decode_frames
    from vidsearch.types import SampledFrame

    decoded = kept = 0
    last = 0.0
    started = time.perf_counter()

    def counted():
        nonlocal decoded, last
        for frame in decode_frames(video, DecodeMode(mode)):
            decoded += 1
            last = frame.timestamp
            yield frame

    for event in FrameSampler().sample(counted()):
        kept += isinstance(event, SampledFrame)
    wall = time.perf_counter() - started
    return {"decoded": decoded, "kept": kept, "wall_s": wall, "realtime_x": last / wall}


def run_opencv(video: Path) -> dict:
    import cv2

    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25
    decoded = 0
    started = time.perf_counter()
    while capture.read()[0]:
        decoded += 1
    wall = time.perf_counter() - started
    return {"decoded": decoded, "kept": 0, "wall_s": wall, "realtime_x": decoded / fps / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    video = footage(args.minutes)
    results = {"opencv": run_opencv(video)}
    for mode in ("exact", "fast", "keyframes"):
        results[mode] = run_mode(video, mode)
    for name, r in results.items():
        print(
            f"{name:8s} {r['realtime_x']:6.1f}x real time  {r['decoded']:6d} frames decoded "
            f"({r['decoded'] / r['wall_s']:5.0f}/s)  {r['kept']:4d} kept  {r['wall_s']:6.1f}s"
        )
    base = results["opencv"]["realtime_x"]
    print(
        json.dumps(
            {
                "benchmark": "decode_modes",
                "video": video.name,
                "results": results,
                "ratio_to_opencv": {k: v["realtime_x"] / base for k, v in results.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
