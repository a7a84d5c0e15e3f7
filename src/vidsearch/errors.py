"""Every error vidsearch raises on purpose, in one tree (side packages and edges included):

    VidsearchError
     ├── ConfigError              a setting or argument is invalid
     │    └── BadNameError        a file name from a request cannot be used (vidsearch.service)
     ├── NotFoundError            nothing of that name is indexed (a video, a job)
     ├── ConflictError            the name is taken already
     │    └── DuplicateContent    the same video is queued under another name (vidsearch.service)
     ├── MediaError               a file cannot be used as a video
     │    ├── DecodeError         it opened, but decoding failed or stopped early (truncated)
     │    └── UnsupportedTypeError  its name's extension is not a video's (vidsearch.service)
     ├── SubtitleError            a subtitle file or stream cannot be read (a warning: frames go on)
     ├── ModelError               a model (encoder, ASR, OCR) could not be loaded or used
     ├── MissingProgramError      a program a test helper drives is missing (vidsearch.testing)
     ├── IndexError_              the index cannot be opened or used
     │    ├── IndexLockedError    another process holds the index
     │    ├── ModelMismatchError  the index was built with a different model
     │    ├── IndexCorruptError   a file of the index is damaged (`vidsearch doctor`)
     │    └── DiskFullError       too little free space to open or grow the index
     ├── QueryError               the query (text or image) is unusable
     │    └── EmptyIndexError     nothing is indexed yet, so nothing to search (vidsearch.search)
     ├── DataError                a data-pipeline step cannot go on (vidsearch.data)
     │    ├── DatasetError        a dataset directory is missing, newer, corrupt or in use
     │    ├── SourceFormatError   an input file is not in the format it claims
     │    ├── TranslationError    a translator failed (`permanent` or not)
     │    ├── CrawlError          the crawl cannot go on (endpoint, robots, state)
     │    ├── FieldPathError      a field path does not lead to a field of the document
     │    └── HttpError           a request failed (`permanent`: a 4xx other than 429)
     ├── TrainError               training cannot go on (vidsearch.train)
     │    ├── CheckpointError     a checkpoint cannot be resumed
     │    └── TrackingError       MLflow: the extra is missing, the store or registry refuses
     ├── PipelineError            a DAG step cannot run as configured (vidsearch.pipelines)
     │    └── DownloadError       a video URL could not be staged (`permanent` or not)
     ├── EvaluationError          an evaluation cannot run (vidsearch.evaluation)
     ├── ApiError                 a route's answer: an HTTP status and a message (vidsearch.service)
     └── ClientError              the HTTP client's failures (vidsearch.client)
          ├── ServerUnreachable   no answer from the server
          ├── HTTPError           the server answered with an error status
          │    ├── BadRequest            400
          │    ├── Unauthorized          401
          │    ├── NotFound              404
          │    ├── Conflict              409
          │    ├── PayloadTooLarge       413
          │    ├── UnsupportedMediaType  415
          │    └── Unavailable           503
          └── JobFailed           an indexing job on the server failed or was cancelled

The library raises these; only the edges print them, each mapping them in one table: the CLI
with `exit_code` (below), the service with `vidsearch.service.errors.HTTP_STATUSES`. Control
flow signals that are not errors (a cancelled job, a stop signal) are not in the tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class VidsearchError(Exception):
    """Base class: the message is written for the person who ran the command."""


class ConfigError(VidsearchError):
    pass


class NotFoundError(VidsearchError):
    pass


class ConflictError(VidsearchError):
    pass


class MediaError(VidsearchError):
    pass


class DecodeError(MediaError):
    pass


class SubtitleError(VidsearchError):
    pass


class ModelError(VidsearchError):
    pass


class IndexError_(VidsearchError):  # noqa: N801 - avoid shadowing the builtin IndexError
    pass


class IndexLockedError(IndexError_):
    pass


class ModelMismatchError(IndexError_):
    pass


class IndexCorruptError(IndexError_):
    pass


class DiskFullError(IndexError_):
    pass


class QueryError(VidsearchError):
    pass


def most_specific(table: Mapping[type[VidsearchError], T], error: VidsearchError) -> T | None:
    """The entry of `table` for the error's own class, else for its nearest base class."""
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]  # type: ignore[index]
    return None


EXIT_FAILURE = 1
# The CLI's exit code per error class (the most specific entry wins). Every library error
# exits with 1 today; a class that needs its own code gets a line here, nowhere else.
EXIT_CODES: dict[type[VidsearchError], int] = {VidsearchError: EXIT_FAILURE}


def exit_code(error: VidsearchError) -> int:
    """The exit code a command ends with when `error` stops it."""
    code = most_specific(EXIT_CODES, error)
    return EXIT_FAILURE if code is None else code
