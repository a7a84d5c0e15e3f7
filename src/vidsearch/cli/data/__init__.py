"""`vidsearch data ...`: build captioned-image datasets. Every command is resumable and
idempotent; errors are one line on stderr and exit code 1 (2 for bad usage).

`vidsearch.cli` registers `data_app`; each module here adds its commands to it.
"""

from vidsearch.data.cli import crawling, importing, translating, world
from vidsearch.data.cli.common import data_app

__all__ = ["crawling", "data_app", "importing", "translating", "world"]
