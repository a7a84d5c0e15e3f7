"""Find model files: a local directory, the Hugging Face cache, or a download — and fail fast.

Offline, `from_pretrained("org/name")` spends ~20 s in retries before failing with a vague
message. Here the cache is tried first, then the hub host gets one short TCP probe; when it
cannot be reached the error names the model and says how to work offline.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from vidsearch.errors import ModelError
from vidsearch.fingerprint import file_fingerprint

HUB_PROBE_TIMEOUT_S = 3.0
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
WEIGHT_PATTERNS = ("*.json", "*.txt", "*.safetensors")  # what a checkpoint's download takes
MARKER = "config.json"  # a Hugging Face model directory has one
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
OFFLINE_HINT = (
    "Pass a local model directory with --model or VIDSEARCH_MODEL; "
    "`python -m vidsearch.testing.tiny_model DIR` writes a tiny random one for trying vidsearch "
    "(with the torch extra: pip install -c constraints.txt 'vidsearch[torch]')."
)


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """A model directory on disk and the reference the user gave for it."""

    ref: str
    directory: Path

    @property
    def weights(self) -> Path:
        for name in WEIGHT_FILES:
            if (self.directory / name).is_file():
                return self.directory / name
        raise ModelError(
            f"model '{self.ref}': no weights ({' or '.join(WEIGHT_FILES)}) in {self.directory}"
        )

    def check_weights(self, kind: str = "model") -> Path:
        """The weights file, its header read (a safetensors file must parse): no torch."""
        weights = self.weights
        if weights.suffix == ".safetensors":
            try:
                with weights.open("rb") as f:
                    size = int.from_bytes(f.read(8), "little")
                    if not 2 <= size <= min(weights.stat().st_size - 8, 100 << 20):
                        raise ValueError("bad header size")
                    json.loads(f.read(size))
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"cannot load {kind} '{self.ref}': {weights.name} is not a readable "
                    f"safetensors file ({exc})"
                ) from None
        return weights

    @property
    def fingerprint(self) -> str:
        """Identity of the weights' content, whatever directory or id they came from."""
        return file_fingerprint(self.weights, digest_size=8)


def _looks_like_path(ref: str) -> bool:
    return ref.startswith(("/", "./", "../", "~")) or ref.count("/") > 1 or os.sep + os.sep in ref


def _check_local_dir(ref: str, directory: Path, marker: str | None = MARKER) -> ModelFiles:
    if marker is not None and not (directory / marker).is_file():
        raise ModelError(f"model directory '{ref}' has no {marker}: not a model directory")
    return ModelFiles(ref, directory)


def _hub_endpoint_host() -> tuple[str, int]:
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    return url.hostname or "huggingface.co", url.port or (443 if url.scheme != "http" else 80)


def hub_unreachable() -> str | None:
    """Why nothing can be downloaded from the Hugging Face hub now (HF_HUB_OFFLINE, or its
    host does not answer within HUB_PROBE_TIMEOUT_S), or None: asked before a download, so an
    offline machine hears it at once instead of after the hub client's retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return "HF_HUB_OFFLINE is set"
    host, port = _hub_endpoint_host()
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S).close()
    except OSError as exc:
        return f"{host} is unreachable ({exc.strerror or exc}); are you offline?"
    return None


def _probe_hub(ref: str) -> None:
    reason = hub_unreachable()
    if reason is None:
        return
    if reason.startswith("HF_HUB_OFFLINE"):
        raise ModelError(
            f"cannot download model '{ref}': HF_HUB_OFFLINE is set and it is not in the local "
            f"Hugging Face cache. {OFFLINE_HINT}"
        )
    raise ModelError(f"cannot download model '{ref}': {reason} {OFFLINE_HINT}")


def _download(ref: str, patterns: Sequence[str], needed: Sequence[str]) -> Path:
    """The snapshot of hub model `ref` holding the files matching `patterns`: from the cache
    when the `needed` files are there, else downloaded (after one quick probe of the hub)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    patterns = list(patterns)
    try:
        cached = Path(snapshot_download(ref, allow_patterns=patterns, local_files_only=True))
        if all((cached / name).is_file() for name in needed):
            return cached
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass
    _probe_hub(ref)
    try:
        directory = Path(snapshot_download(ref, allow_patterns=patterns))
        if patterns == list(WEIGHT_PATTERNS) and not any(
            (directory / name).is_file() for name in WEIGHT_FILES
        ):
            directory = Path(
                snapshot_download(ref, allow_patterns=patterns + ["pytorch_model.bin"])
            )
    except HfHubHTTPError as exc:
        raise ModelError(
            f"cannot download model '{ref}' from the Hugging Face hub: {exc}"
        ) from None
    except OSError as exc:
        raise ModelError(f"cannot download model '{ref}': {exc}") from None
    return directory


def locate_model(
    ref: str,
    *,
    patterns: Sequence[str] = WEIGHT_PATTERNS,
    marker: str | None = MARKER,
    needed: Sequence[str] = (),
) -> ModelFiles:
    """Resolve `ref` (local directory or Hugging Face id) to files on disk, or raise ModelError.

    A hub id downloads only the files matching `patterns` (by default a checkpoint's configs and
    safetensors weights); `marker` is the file that makes a directory a model directory, and
    `needed` the files a cached snapshot must hold to be used without asking the hub."""
    if not ref or not ref.strip():
        raise ModelError("no model given: set --model or VIDSEARCH_MODEL")
    path = Path(ref).expanduser()
    if path.is_dir():
        return _check_local_dir(ref, path, marker)
    if path.exists():
        raise ModelError(f"model '{ref}' is a file; expected a model directory or a hub id")
    if _looks_like_path(ref) or not _HUB_ID.match(ref):
        raise ModelError(f"model directory '{ref}' does not exist")
    needed = [*([marker] if marker else []), *needed]
    return _check_local_dir(ref, _download(ref, patterns, needed), marker)


class LocatedModel:
    """A model named by a reference (local folder or hub id), located on first use: a hub id
    may need a download, so nothing is looked up before the model is needed."""

    def __init__(self, model_ref: str) -> None:
        self.model_ref = model_ref
        self._files: ModelFiles | None = None

    @property
    def files(self) -> ModelFiles:
        if self._files is None:
            self._files = locate_model(self.model_ref)
        return self._files

    @property
    def name(self) -> str:
        return self.model_ref

    def load(self):  # -> Self
        """Locate the files (a download, once); subclasses also check they can be used."""
        _ = self.files
        return self
