"""Fakes for the data pipeline's tests: HTTP servers on 127.0.0.1 and a bag-of-words encoder.

`FakeServer` runs a stdlib HTTP server on a free port in a thread; a handler function answers
each request and every request is recorded (method, path, query, JSON body, headers, time).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    time: float


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | Any = b""  # bytes as they are; anything else as JSON
    headers: dict[str, str] | None = None


Handler = Callable[[Request], Reply]


class FakeServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = Request(
                    self.command,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    json.loads(raw) if raw else None,
                    {k.lower(): v for k, v in self.headers.items()},
                    time.monotonic(),
                )
                server.requests.append(request)
                reply = server.handler(request)
                body = reply.body
                content_type = "application/octet-stream"
                if not isinstance(body, bytes):
                    body = json.dumps(body, ensure_ascii=False).encode()
                    content_type = "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (reply.headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class BagOfConcepts:
    """A `SentenceEncoder` fake: a text's vector counts the concepts of its words, so a faithful
    translation (same concepts, other words) scores 1 and garbage scores 0."""

    name = "bag-of-concepts"

    def __init__(self, concepts: dict[str, str]) -> None:
        self.concepts = concepts
        self.index = {c: i for i, c in enumerate(sorted(set(concepts.values())))}
        self.calls = 0

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), len(self.index) + 1), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                concept = self.concepts.get(word)
                vectors[row, self.index[concept] if concept else -1] += 1
        return vectors
