"""The evaluation's errors (see vidsearch.errors for the tree they join)."""

from __future__ import annotations

from vidsearch.errors import VidsearchError


class EvaluationError(VidsearchError):
    """An evaluation cannot run: bad metric inputs, an unreadable data set or query file."""
