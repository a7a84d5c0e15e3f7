"""Every error the data pipeline raises on purpose (all are `VidsearchError`s, so the CLI
prints them as one line and exits with 1).

    VidsearchError
     └── DataError              a data-pipeline step cannot go on
          ├── DatasetError      a dataset directory is missing, newer, corrupt or in use
          ├── SourceFormatError an input file is not in the format it claims (names the file)
          ├── TranslationError  a translator failed (permanent or not: see `permanent`)
          └── CrawlError        the crawl cannot go on (endpoint, robots, state)
"""

from __future__ import annotations

from vidsearch.errors import VidsearchError


class DataError(VidsearchError):
    pass


class DatasetError(DataError):
    pass


class SourceFormatError(DataError):
    pass


class TranslationError(DataError):
    """`permanent`: retrying the same text will not help (a 4xx answer, an unknown word)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class CrawlError(DataError):
    pass
