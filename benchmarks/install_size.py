"""Install size and time: the core install (`pip install .`) beside the PyTorch extra.

    python benchmarks/install_size.py [--extras torch] [--keep DIR]

For each variant a fresh virtual environment gets `pip install -c constraints.txt .[EXTRAS]`
(pip's cache as it is: run it twice to measure a warm cache). Reported per variant: the wall
time of the install, the size of site-packages, the number of distributions, and whether
`import vidsearch.encoders, vidsearch.search` pulled in torch, transformers or onnx.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "onnx", "onnxscript", "sentence_transformers")
IMPORT_CHECK = (
    "import sys, vidsearch.encoders, vidsearch.search, vidsearch.ingest; "
    f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
)


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def _size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def measure(extras: str, where: Path) -> dict[str, object]:
    """Install vidsearch (with `extras`, '' for the core) into a new venv under `where`."""
    venv = where / (extras or "core")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = f".[{extras}]" if extras else "."
    started = time.perf_counter()
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-c", "constraints.txt", target],
        cwd=ROOT,
        check=True,
    )
    seconds = time.perf_counter() - started
    site = _site_packages(venv)
    distributions = len(list(site.glob("*.dist-info")))
    imported = subprocess.run(
        [str(python), "-c", IMPORT_CHECK], capture_output=True, text=True, check=True, cwd=where
    ).stdout.strip()
    return {
        "install": f"pip install -c constraints.txt '{target}'",
        "seconds": round(seconds, 1),
        "site_packages_mb": round(_size_bytes(site) / 1e6),
        "distributions": distributions,
        "heavy_modules_imported": imported.split(",") if imported else [],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default="torch", help="the extra measured beside the core")
    parser.add_argument("--keep", type=Path, help="build the venvs here and keep them")
    args = parser.parse_args(argv)
    where = args.keep or Path(tempfile.mkdtemp(prefix="vidsearch-install-"))
    where.mkdir(parents=True, exist_ok=True)
    try:
        rows = [measure("", where), measure(args.extras, where)]
    finally:
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
