"""A test hook: stop this process dead at a named point of indexing, to prove it survives.

    VIDSEARCH_FAULT=upsert:3          SIGKILL the process the 3rd time it reaches "upsert"
    VIDSEARCH_FAULT=flushed:1:stop    SIGSTOP it instead: it keeps holding the index, frozen,
                                      until the test sends SIGCONT

The points (`FaultPoint`) are the phase boundaries of `ingest.py`. The variable is read once,
at import: this is the one module below the CLI that reads the environment, because a test
must reach into a process it starts but does not construct. Unset (always, outside tests),
`fault_point` costs one comparison.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from enum import StrEnum

from vidsearch.errors import ConfigError

FAULT_ENV = "VIDSEARCH_FAULT"


class FaultPoint(StrEnum):
    DECODE = "decode"  # a frame was decoded
    SEGMENT = "segment"  # a decoder worker process decoded a segment (kills the worker)
    UPSERT = "upsert"  # points are about to be written
    UPSERTED = "upserted"  # they were written (not yet flushed)
    FLUSH = "flush"  # a video's points are about to be flushed
    FLUSHED = "flushed"  # flushed; the video is not yet marked complete
    COMPLETED = "completed"  # the video was just marked complete


class FaultAction(StrEnum):
    KILL = "kill"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    point: FaultPoint
    hit: int  # act on this hit of the point, counting from 1
    action: FaultAction = FaultAction.KILL

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """`point:hit[:action]`, e.g. `upsert:3` or `flushed:1:stop`."""
        parts = text.strip().split(":")
        try:
            if len(parts) not in (2, 3):
                raise ValueError
            point, hit = FaultPoint(parts[0]), int(parts[1])
            action = FaultAction(parts[2]) if len(parts) == 3 else FaultAction.KILL
            if hit < 1:
                raise ValueError
        except ValueError:
            points = ", ".join(p.value for p in FaultPoint)
            raise ConfigError(
                f"{FAULT_ENV}={text!r}: expected POINT:HIT[:kill|stop] with POINT one of "
                f"{points} and HIT >= 1"
            ) from None
        return cls(point, hit, action)


class _Injector:
    def __init__(self, spec: str | None) -> None:
        self.plan: FaultPlan | None = None
        self.error: ConfigError | None = None
        if spec:
            try:
                self.plan = FaultPlan.parse(spec)
            except ConfigError as exc:
                self.error = exc
        self.armed = self.plan is not None or self.error is not None
        self._hits = 0
        self._mutex = threading.Lock()  # decoding runs in a prefetch thread

    def reach(self, point: FaultPoint) -> None:
        if self.error is not None:
            raise self.error
        plan = self.plan
        if plan is None or point is not plan.point:
            return
        with self._mutex:
            self._hits += 1
            if self._hits != plan.hit:
                return
        os.kill(os.getpid(), signal.SIGKILL if plan.action is FaultAction.KILL else signal.SIGSTOP)


_injector = _Injector(os.environ.get(FAULT_ENV))


def fault_point(point: FaultPoint) -> None:
    """Kill or stop this process here if VIDSEARCH_FAULT says so; otherwise nothing."""
    if _injector.armed:
        _injector.reach(point)
