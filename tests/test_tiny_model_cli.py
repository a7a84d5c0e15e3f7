"""`python -m vidsearch.testing.tiny_model DIR`: the model's path on stdout, no progress bar."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_writes_the_model_without_a_progress_bar(tmp_path: Path) -> None:
    target = tmp_path / "tiny"
    done = subprocess.run(
        [sys.executable, "-m", "vidsearch.testing.tiny_model", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    assert (target / "model.safetensors").is_file()
    assert "Writing model shards" not in done.stderr and "it/s" not in done.stderr, done.stderr


def test_the_progress_bar_setting_is_left_as_it_was(tmp_path: Path) -> None:
    from transformers.utils import logging

    from vidsearch.testing.tiny_model import write_tiny_model

    before = logging.is_progress_bar_enabled()
    write_tiny_model(tmp_path / "tiny")
    assert logging.is_progress_bar_enabled() == before
