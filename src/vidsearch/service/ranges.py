"""Range headers checked before Starlette's FileResponse serves them, so that a malformed or
unsatisfiable range gets a JSON error like every other failure."""

from __future__ import annotations

from vidsearch.service.errors import ApiError


def _malformed(header: str) -> ApiError:
    return ApiError(
        400, f"malformed Range header {header!r}: expected bytes=START-END, START- or -SUFFIX"
    )


def check_range(header: str | None, size: int) -> None:
    """Raise ApiError 400 (malformed) or 416 (no part inside the file); else return."""
    if header is None:
        return
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        raise _malformed(header)
    satisfiable = False
    for part in spec.split(","):
        first, dash, last = part.strip().partition("-")
        if not dash or not (first or last):
            raise _malformed(header)
        if not first:  # the last N bytes
            if not last.isdigit():
                raise _malformed(header)
            satisfiable |= int(last) > 0 and size > 0
            continue
        if not first.isdigit() or (last and not last.isdigit()):
            raise _malformed(header)
        if last and int(last) < int(first):
            raise _malformed(header)
        satisfiable |= int(first) < size
    if not satisfiable:
        raise ApiError(
            416,
            f"range {spec.strip()} is outside the file ({size} bytes)",
            headers={"Content-Range": f"bytes */{size}"},
        )
