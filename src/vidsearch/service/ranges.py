"""Range headers checked before Starlette's FileResponse serves them, so that a malformed or
unsatisfiable range gets a JSON error like every other failure, and no header reaches an
`int()` that could raise or take the time of a 5,000-digit number.

The grammar is RFC 9110's (section 14.1.2), in ASCII only: `bytes=` then one or more
`FIRST-[LAST]` or `-SUFFIX`, separated by commas. A position has at most 19 digits (no file
is larger than 2^63 - 1 bytes). Anything else is malformed: 400 (Starlette answers the same).
More than MAX_RANGES ranges are ignored (the whole file, 200), as Starlette does.
A range set with a range that starts at or past the end of the file is 416 with
`Content-Range: bytes */SIZE`, as Starlette would answer it, only here in JSON.
"""

from __future__ import annotations

import re

from vidsearch.service.errors import ApiError

MAX_POSITION = 2**63 - 1  # the largest file offset; a position beyond it is malformed
MAX_RANGES = 100  # Starlette's FileResponse.max_ranges: it ignores a header with more
_POSITION = r"[0-9]{1,19}"
_RANGE_SPEC = re.compile(rf"(?P<first>{_POSITION})-(?P<last>{_POSITION})?|-(?P<suffix>{_POSITION})")
_UNIT = re.compile(r"[ \t]*bytes[ \t]*", re.IGNORECASE)
_OWS = " \t"


def _malformed(header: str) -> ApiError:
    shown = header if len(header) <= 80 else header[:80] + "..."
    return ApiError(
        400, f"malformed Range header {shown!r}: expected bytes=START-END, START- or -SUFFIX"
    )


def parse_range(header: str, size: int) -> list[tuple[int, int]]:
    """The ranges of a `Range` header as (start, end exclusive) byte offsets into a file of
    `size` bytes. Raises ApiError 400 (malformed) or 416 (a range outside the file)."""
    unit, equals, spec = header.partition("=")
    if not equals or not _UNIT.fullmatch(unit):
        raise _malformed(header)
    parts = [part.strip(_OWS) for part in spec.split(",")]
    if len(parts) > MAX_RANGES:  # Starlette ignores the header and sends the whole file
        return []
    ranges: list[tuple[int, int]] = []
    for part in parts:
        if not part:  # an empty list element (RFC 9110 5.6.1): skipped
            continue
        match = _RANGE_SPEC.fullmatch(part)
        if match is None:
            raise _malformed(header)
        first, last, suffix = match.group("first", "last", "suffix")
        if suffix is not None:  # the last N bytes
            length = int(suffix)
            if length > MAX_POSITION:
                raise _malformed(header)
            ranges.append((max(size - length, 0), size) if length else (size, size))
            continue
        start = int(first)
        end = int(last) if last is not None else MAX_POSITION
        if start > MAX_POSITION or end > MAX_POSITION or end < start:
            raise _malformed(header)
        ranges.append((start, min(end + 1, size)))
    if not ranges:
        raise _malformed(header)
    if any(start >= size for start, _ in ranges):
        spec_shown = spec.strip(_OWS)
        spec_shown = spec_shown if len(spec_shown) <= 80 else spec_shown[:80] + "..."
        raise ApiError(
            416,
            f"range {spec_shown} is outside the file ({size} bytes)",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return ranges


def check_range(header: str | None, size: int) -> None:
    """Raise ApiError 400 (malformed) or 416 (a range outside the file); else return."""
    if header is not None:
        parse_range(header, size)
