"""What one CLI command costs, start to finish: wall time and peak memory of a process.

    python benchmarks/cli_commands.py [--baseline-src /path/to/other/checkout/src] [--runs 7]

A tiny random CLIP and a tiny sentence-transformers model (written offline) index a generated
18 s video with English subtitles beside it once; then each command runs `--runs` times as a
fresh process (`python -m vidsearch ...`), and the median wall time and peak RSS are printed,
with the ratio of the default (hybrid: frames and subtitle lines) search to a visual one.
With `--baseline-src`, the same commands run with that checkout's `src` first on PYTHONPATH,
alternating with this one, so both see the same machine state: that is how a refactor shows
it costs nothing (`git worktree add /tmp/old <commit>`).
Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
SETUP = """
import sys
from pathlib import Path
from vidsearch.testing.demo import write_demo_video
from vidsearch.testing.tiny_bundles import write_tiny_sentence_model
from vidsearch.testing.tiny_model import write_tiny_model
write_tiny_model(Path(sys.argv[1]))
write_tiny_sentence_model(Path(sys.argv[2]))
video = write_demo_video(Path(sys.argv[3]))
video.with_suffix(".en.srt").write_text(sys.argv[4])
"""
SUBTITLES = """1
00:00:01,000 --> 00:00:03,000
A dog runs across the yard.

2
00:00:05,000 --> 00:00:07,500
Meet me at the old bridge.

3
00:00:10,000 --> 00:00:12,000
The city is quiet tonight.
"""
HYBRID, VISUAL = "search (hybrid, the default)", "search (visual)"
COMMANDS = {
    VISUAL: ["search", "a dog", "--mode", "visual"],
    HYBRID: ["search", "a dog"],
    "search --json": ["search", "a dog", "--json"],
    "videos": ["videos"],
    "models": ["models"],
}


def run(src: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `python -m vidsearch ARGS` process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "vidsearch", *args],
        env=env | {"PYTHONPATH": str(src)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, _, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if child.stderr is not None:
        child.stderr.close()
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src folder")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    trees = {"this": SRC} | ({"baseline": args.baseline_src} if args.baseline_src else {})
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        # in a child: this process stays small, and a child's peak RSS counts from its fork
        model, video = root / "tiny-clip", root / "videos" / "demo.mp4"
        sentences = root / "tiny-sentences"
        setup = [SETUP, str(model), str(sentences), str(video), SUBTITLES]
        subprocess.run([sys.executable, "-c", *setup], check=True)
        env = os.environ | {
            "VIDSEARCH_HOME": str(root / "home"),
            "VIDSEARCH_MODEL": str(model),
            "VIDSEARCH_DIALOGUE_MODEL": str(sentences),
            "VIDSEARCH_CACHE_DIR": str(root / "cache"),
        }
        indexed = subprocess.run(
            [sys.executable, "-m", "vidsearch", "index", str(video), "--json"],
            env=env | {"PYTHONPATH": str(SRC)},
            check=True,
            capture_output=True,
        )
        cues = json.loads(indexed.stdout)[0].get("cues")
        if not cues:  # the hybrid figures would be a visual search's
            sys.exit(f"the subtitles were not indexed: {indexed.stderr.decode()[-500:]}")
        figures: dict[str, dict[str, list[tuple[float, float]]]] = {}
        for _ in range(args.runs):
            for label, command in COMMANDS.items():
                for tree, src in trees.items():
                    figures.setdefault(label, {}).setdefault(tree, []).append(
                        run(src, command, env)
                    )
    load = os.getloadavg()[0]
    result = {}
    print(f"load average (1 min) after the runs: {load:.2f}; median of {args.runs} runs")
    print("| command | " + " | ".join(f"{t} wall / peak RSS" for t in trees) + " |")
    print("| --- |" + " --- |" * len(trees))
    for label, by_tree in figures.items():
        cells, result[label] = [], {}
        for tree, samples in by_tree.items():
            wall = statistics.median(s[0] for s in samples)
            rss = statistics.median(s[1] for s in samples)
            cells.append(f"{wall:.2f} s / {rss:.0f} MB")
            result[label][tree] = {"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1)}
        print(f"| {label} | " + " | ".join(cells) + " |")
    ratios = {tree: _ratios(result[HYBRID][tree], result[VISUAL][tree]) for tree in trees}
    for tree, ratio in ratios.items():
        print(
            f"{tree}: hybrid / visual = {ratio['wall']:.2f}x wall time, "
            f"{ratio['peak_rss']:.2f}x peak RSS"
        )
    summary = {"benchmark": "cli_commands", "load": round(load, 2), "results": result}
    print(json.dumps(summary | {"hybrid_over_visual": ratios}))


def _ratios(hybrid: dict[str, float], visual: dict[str, float]) -> dict[str, float]:
    return {
        "wall": round(hybrid["wall_s"] / visual["wall_s"], 2),
        "peak_rss": round(hybrid["peak_rss_mb"] / visual["peak_rss_mb"], 2),
    }


if __name__ == "__main__":
    main()
