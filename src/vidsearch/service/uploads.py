"""Receive an uploaded video: the multipart body is parsed as it arrives and the file part is
written straight to disk, so a large upload never sits in memory and an oversize one is cut
off at the limit instead of filling the disk first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import unquote_to_bytes

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from vidsearch.service.errors import ApiError

FILE_FIELD = "file"
FEED_BYTES = 1024 * 1024  # body bytes handed to the parser (in a worker thread) at a time
FORM_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around the file
DRAIN_LIMIT_BYTES = 8 * 1024 * 1024  # read this much of a refused body so the reply arrives
MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    name: str  # as checked by the caller's `check_name`
    path: Path  # a temporary file; the caller moves or deletes it
    size: int


def _header_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _extended_value(header: bytes, key: bytes) -> bytes | None:
    """The bytes of an RFC 5987 `key*=UTF-8''percent-encoded` parameter, if there is one.
    RFC 7578 asks senders not to use it (browsers send UTF-8 in `filename="..."`), but some
    clients do, with a plain ASCII `filename` beside it."""
    for segment in header.split(b";")[1:]:
        name, _, value = segment.partition(b"=")
        if name.strip().lower() != key + b"*":
            continue
        charset, _, rest = value.strip().strip(b'"').partition(b"'")
        _, _, encoded = rest.partition(b"'")
        if charset.lower() not in (b"utf-8", b"utf8"):
            raise ApiError(400, "a multipart file name is only accepted in UTF-8")
        return unquote_to_bytes(encoded)
    return None


def disposition_filename(header: bytes) -> tuple[str, str | None]:
    """The form field name and file name (None: not a file) of a part's
    Content-Disposition, as raw bytes from the wire: UTF-8 (what browsers and httpx send),
    `filename*=UTF-8''...` where given, Latin-1 only when the bytes are not UTF-8."""
    # python-multipart reads a bytes header as Latin-1, so its values come back as the
    # original bytes; a str header would be re-encoded to Latin-1 and fail on other text.
    _, options = parse_options_header(header)
    field = _header_text(options.get(b"name", b""))
    extended = _extended_value(header, b"filename")
    if extended is not None:
        return field, _header_text(extended)
    if b"filename" not in options:
        return field, None
    return field, _header_text(options[b"filename"])


class _FilePartWriter:
    """python-multipart callbacks: keep the one file part, ignore other fields."""

    def __init__(self, incoming: Path, max_bytes: int, check_name: Callable[[str], str]) -> None:
        self.incoming = incoming
        self.max_bytes = max_bytes
        self.check_name = check_name
        self.name: str | None = None
        self.path: Path | None = None
        self.size = 0
        self._out: IO[bytes] | None = None
        self._headers: dict[str, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._in_file = False
        self.ended = False  # the closing boundary was read
        self.parser: MultipartParser | None = None

    def make_parser(self, boundary: bytes) -> MultipartParser:
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )
        return self.parser

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        if len(self._field) + len(self._value) > MAX_HEADER_BYTES:
            raise ApiError(400, "a multipart header is too long")
        self._headers[_header_text(bytes(self._field)).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        field, filename = disposition_filename(self._headers.get("content-disposition", b""))
        if field != FILE_FIELD or filename is None:
            return  # another form field: its data is ignored
        if self.name is not None:
            raise ApiError(400, "send one file per upload")
        self.name = self.check_name(filename)
        suffix = Path(self.name).suffix.lower()
        self.path = self.incoming / f"{uuid.uuid4().hex}{suffix}"
        self._out = open(self.path, "xb")  # noqa: SIM115 - closed in _part_end or close()
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file or self._out is None:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise ApiError(413, f"the upload is larger than the limit of {_size(self.max_bytes)}")
        self._out.write(data[start:end])

    def _part_end(self) -> None:
        if self._in_file and self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._out = None
        self._in_file = False

    def _end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def discard(self) -> None:
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


async def _drain(body: AsyncIterator[bytes]) -> None:
    """Read (and drop) some of a refused body, so that the client gets to read the answer
    instead of a connection reset; a huge body is cut off after DRAIN_LIMIT_BYTES."""
    seen = 0
    try:
        async for chunk in body:
            seen += len(chunk)
            if seen > DRAIN_LIMIT_BYTES:
                return
    except ClientDisconnect:
        return


async def receive_upload(
    request: Request, incoming: Path, max_bytes: int, check_name: Callable[[str], str]
) -> ReceivedFile:
    """Stream the request's `file` part into `incoming`; ApiError says what was wrong."""
    body = request.stream()
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data":
        await _drain(body)
        raise ApiError(
            415,
            f"send the video as multipart/form-data with a '{FILE_FIELD}' field, "
            f"not {ctype.decode('latin-1') or 'no content type'}",
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "the multipart/form-data content type has no boundary")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD_BYTES:
        await _drain(body)
        raise ApiError(413, f"the upload is larger than the limit of {_size(max_bytes)}")
    incoming.mkdir(parents=True, exist_ok=True)
    writer = _FilePartWriter(incoming, max_bytes, check_name)
    parser = writer.make_parser(boundary)
    pending = bytearray()
    try:
        async for chunk in body:
            pending += chunk
            if len(pending) >= FEED_BYTES:
                data = bytes(pending)
                pending.clear()
                await anyio.to_thread.run_sync(parser.write, data)
        await anyio.to_thread.run_sync(parser.write, bytes(pending))
        parser.finalize()
    except ApiError:
        writer.discard()
        await _drain(body)
        raise
    except MultipartParseError as exc:
        writer.discard()
        raise ApiError(400, f"the multipart body is malformed: {exc}") from None
    except ClientDisconnect:
        writer.discard()
        raise ApiError(400, "the client went away during the upload") from None
    except BaseException:  # server stopping
        writer.discard()
        raise
    writer.close()
    if not writer.ended:
        writer.discard()
        raise ApiError(400, "the multipart body ends before its closing boundary (cut short?)")
    if writer.name is None or writer.path is None:
        raise ApiError(400, f"the form has no '{FILE_FIELD}' field with a file")
    if writer.size == 0:
        writer.discard()
        raise ApiError(400, f"{writer.name}: the file is empty (0 bytes)")
    return ReceivedFile(writer.name, writer.path, writer.size)
