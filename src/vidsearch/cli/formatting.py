"""How the CLI writes times."""

from __future__ import annotations


def clock(seconds: float) -> str:
    """`mm:ss.fff`, or `h:mm:ss.fff` from an hour on."""
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:06.3f}" if hours else f"{minutes:02d}:{secs:06.3f}"
