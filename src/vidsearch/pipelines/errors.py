"""The pipelines' errors, and which errors a retry cannot fix.

VidsearchError
 ├── PipelineError        a step cannot run as configured, or a source cannot be fetched
 │    └── DownloadError   a video URL could not be staged (`permanent`: a retry won't help)
 └── ... every other vidsearch error a step lets through (MediaError, ConfigError, ...)
"""

from __future__ import annotations

from vidsearch.errors import (
    ConfigError,
    IndexCorruptError,
    MediaError,
    ModelMismatchError,
    VidsearchError,
)


class PipelineError(VidsearchError):
    pass


class DownloadError(PipelineError):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the step would fail the same way: a file that is not a usable video,
    a setting that is wrong, an index built with another model or damaged (`vidsearch
    doctor`), a URL that answers 4xx or is too large. Anything else (a held index lock, a
    network error, a full disk) may pass."""
    if isinstance(exc, DownloadError):
        return exc.permanent
    if isinstance(exc, MediaError | ConfigError | ModelMismatchError | IndexCorruptError):
        return True
    from vidsearch.data.errors import SourceFormatError

    return isinstance(exc, SourceFormatError)
