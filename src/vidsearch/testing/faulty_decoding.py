"""A span decoder whose worker process dies on chosen files, to prove the pool survives it.

`DecodePool(decode=die_on_poison)`: a worker given a span of a file whose name contains
POISON kills itself with SIGKILL, as a decoder crashing on a damaged segment would; other
files decode normally.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from vidsearch.media.decode import Span
from vidsearch.media.sampler import SamplerConfig
from vidsearch.media.span_decoding import SpanFrames, decode_span

POISON = "poison"


def die_on_poison(
    path: str, mode: str, span: Span, sampling: SamplerConfig | None = None
) -> SpanFrames:
    if POISON in Path(path).name and span.start_pts is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    return decode_span(path, mode, span, sampling)
