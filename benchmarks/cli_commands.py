"""What one CLI command costs, start to finish: wall time and peak memory of a process.

    python benchmarks/cli_commands.py [--baseline-src /path/to/other/checkout/src] [--runs 7]

A tiny random CLIP (written offline) indexes a generated 18 s video once; then each command
runs `--runs` times as a fresh process (`python -m vidsearch ...`), and the median wall time
and peak RSS are printed. With `--baseline-src`, the same commands run with that checkout's
`src` first on PYTHONPATH, alternating with this one, so both see the same machine state:
that is how a refactor shows it costs nothing (`git worktree add /tmp/old <commit>`).
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
from vidsearch.testing.tiny_model import write_tiny_model
write_tiny_model(Path(sys.argv[1]))
write_demo_video(Path(sys.argv[2]))
"""
COMMANDS = {
    "search (visual)": ["search", "a dog", "--mode", "visual"],
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
        subprocess.run([sys.executable, "-c", SETUP, str(model), str(video)], check=True)
        env = os.environ | {
            "VIDSEARCH_HOME": str(root / "home"),
            "VIDSEARCH_MODEL": str(model),
            "VIDSEARCH_CACHE_DIR": str(root / "cache"),
        }
        subprocess.run(
            [sys.executable, "-m", "vidsearch", "index", str(video)],
            env=env | {"PYTHONPATH": str(SRC)},
            check=True,
            capture_output=True,
        )
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
    print(json.dumps({"benchmark": "cli_commands", "load": round(load, 2), "results": result}))


if __name__ == "__main__":
    main()
