"""The background-thread iterator behind decode/encode overlap."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from vidsearch.prefetch import prefetch


def test_order_and_completeness() -> None:
    assert list(prefetch(range(1000), depth=4)) == list(range(1000))


def test_producer_runs_in_another_thread_ahead_of_the_consumer() -> None:
    produced: list[int] = []
    threads: set[str] = set()

    def source() -> Iterator[int]:
        for i in range(10):
            threads.add(threading.current_thread().name)
            produced.append(i)
            yield i

    stream = prefetch(source(), depth=3)
    assert next(stream) == 0
    time.sleep(0.2)
    assert len(produced) >= 4  # kept working while the consumer slept, up to the bound
    assert len(produced) <= 5
    assert list(stream) == list(range(1, 10))
    assert threads == {"vidsearch-prefetch"}


def test_producer_error_reaches_the_consumer_after_earlier_items() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("decode failed at 2")

    got = []
    with pytest.raises(ValueError, match="decode failed at 2"):
        for item in prefetch(source(), depth=8):
            got.append(item)
    assert got == [1, 2]


def test_closing_the_consumer_stops_the_producer() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    stream = prefetch(endless(), depth=2)
    assert next(stream) == 0
    stream.close()  # joins the worker: returns only once it has stopped
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) == count
