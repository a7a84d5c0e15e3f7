"""Fill a disk under a real `vidsearch index`, then free it: run inside its own mount
namespace (`unshare --mount`), on a small tmpfs mounted there.

    python disk_full_scenario.py OUT MODEL FIRST.mp4 SECOND.mp4

Steps (each a real `vidsearch` process; their exit codes and output go to OUT/steps.json, and
copies of the data directory to OUT/<step>/):
1. index FIRST on an empty 96 MiB tmpfs;
2. fill the disk to just above what vidsearch keeps free, index SECOND: it must stop with a
   one-line error, FIRST intact;
3. fill the disk below what opening the index needs: `videos` and `search` must refuse
   plainly;
4. free the space, index SECOND again: it must complete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from vidsearch.index.space import MIN_FREE_TO_OPEN, MIN_FREE_TO_WRITE, free_bytes

TMPFS_SIZE = "96m"
WRITE_MARGIN = 300 * 1024  # room for a few batches of SECOND before the guard stops it


def fill_to(mount: Path, name: str, free: int) -> None:
    """Write a ballast file so that `free` bytes stay free."""
    extra = free_bytes(mount) - free
    if extra > 0:
        with (mount / name).open("wb") as ballast:
            ballast.write(b"\1" * extra)


def main(out: Path, model: Path, first: Path, second: Path) -> None:
    mount = out / "tmpfs"
    mount.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", mount], check=True)
    home = mount / "home"
    steps: dict[str, dict] = {}

    def run(step: str, *args: str | Path, keep: bool = False) -> None:
        command = [sys.executable, "-m", "vidsearch", *map(str, args), "--home", str(home)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        steps[step] = {
            "returncode": result.returncode,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "free": free_bytes(mount),
        }
        if keep:  # a copy of the data directory as the step left it
            subprocess.run(["cp", "-a", "--sparse=always", home, out / step], check=True)

    try:
        run("first", "index", first, "--model", model, "--interval", "0.25")
        fill_to(mount, "ballast-1", MIN_FREE_TO_WRITE + WRITE_MARGIN)
        run("full", "index", second, "--model", model, "--interval", "0.25", keep=True)
        run("search-near-full", "search", "a red scene", "--json")
        fill_to(mount, "ballast-2", MIN_FREE_TO_OPEN // 2)
        run("videos-full", "videos")
        run("search-full", "search", "a red scene")
        run("index-full", "index", second, "--interval", "0.25")
        for ballast in mount.glob("ballast-*"):
            ballast.unlink()
        run("resumed", "index", second, "--interval", "0.25", keep=True)
    finally:
        (out / "steps.json").write_text(json.dumps(steps, indent=2))
        subprocess.run(["umount", "--lazy", mount], check=False)


if __name__ == "__main__":
    os.environ.pop("VIDSEARCH_FAULT", None)
    main(*map(Path, sys.argv[1:5]))
