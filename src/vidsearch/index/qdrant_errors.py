"""qdrant-client's failures, told as vidsearch errors that name the server and the problem.

qdrant-client raises `ResponseHandlingException` when the server cannot be reached,
`UnexpectedResponse` for an HTTP error status, and (in local mode) `ValueError`.
"""

from __future__ import annotations

import json
from types import TracebackType

from vidsearch.errors import ConfigError, IndexError_

INSTALL_HINT = (
    "the Qdrant server backend needs the optional extra 'qdrant': "
    "pip install 'vidsearch[qdrant]' (or unset VIDSEARCH_QDRANT_URL to use the embedded index)"
)


def require_qdrant_client() -> None:
    """Raise ConfigError with the install hint if qdrant-client is not installed."""
    try:
        import qdrant_client  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None


def _server_message(content: bytes) -> str:
    """The `status.error` text of a Qdrant error response, else the raw content (short)."""
    try:
        return str(json.loads(content)["status"]["error"])
    except (ValueError, KeyError, TypeError):
        return content[:200].decode("utf-8", "replace").strip()


class QdrantErrors:
    """`with QdrantErrors(where):` turns qdrant-client exceptions into IndexError_."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            return False
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        if isinstance(exc, ResponseHandlingException):
            raise IndexError_(
                f"cannot reach the Qdrant server at {self.where}: {exc.source}"
            ) from None
        if isinstance(exc, UnexpectedResponse):
            if exc.status_code in (401, 403):
                raise IndexError_(
                    f"the Qdrant server at {self.where} refused access ({exc.status_code}): "
                    "check VIDSEARCH_QDRANT_API_KEY"
                ) from None
            raise IndexError_(
                f"the Qdrant server at {self.where} answered {exc.status_code}: "
                f"{_server_message(exc.content)}"
            ) from None
        if isinstance(exc, ValueError):  # local mode
            raise IndexError_(f"Qdrant at {self.where}: {exc}") from None
        return False
