"""What `du` says: the reference the disk-usage figures are checked against."""

from __future__ import annotations

import subprocess
from pathlib import Path


def du_bytes(paths: list[Path]) -> int:
    """GNU du's total for `paths`, in bytes."""
    out = subprocess.run(
        ["du", "-s", "-c", "-B1", "--", *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.splitlines()[-1].split()[0])
