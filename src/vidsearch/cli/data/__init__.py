"""`vidsearch data ...`: build captioned-image datasets. Every command is resumable and
idempotent; errors are one line on stderr and exit code 1 (2 for bad usage).

`vidsearch.cli.app` registers `data_app`; each module here adds its commands to it.
"""

from vidsearch.cli.data import crawling, importing, translating, world
from vidsearch.cli.data.common import data_app

__all__ = ["crawling", "data_app", "importing", "translating", "world"]
