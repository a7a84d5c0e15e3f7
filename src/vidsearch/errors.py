"""Every error vidsearch raises on purpose.

    VidsearchError
     ├── ConfigError          a setting or argument is invalid
     ├── MediaError           a file cannot be used as a video
     │    └── DecodeError     it opened, but decoding failed or stopped early (truncated)
     ├── SubtitleError        a subtitle file or stream cannot be read (a warning: frames go on)
     ├── ModelError           an encoder could not be loaded or used
     ├── IndexError_          the index cannot be opened or used
     │    ├── IndexLockedError     another process holds the index
     │    ├── ModelMismatchError   the index was built with a different model
     │    ├── IndexCorruptError    a file of the index is damaged (`vidsearch doctor`)
     │    └── DiskFullError        too little free space to open or grow the index
     └── QueryError           the query (text or image) is unusable

The library raises these; only the CLI (and later the service) prints them.
"""

from __future__ import annotations


class VidsearchError(Exception):
    """Base class: the message is written for the person who ran the command."""


class ConfigError(VidsearchError):
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
