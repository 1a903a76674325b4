"""Decoding ahead of the model (#24): the same items in the same order, errors where they happened, never more
than `depth` items waiting, and a consumer that stops early stops the thread and closes the decoder."""

from __future__ import annotations

import threading
import time

import pytest

from agent.indexing.decode_ahead import decode_ahead


def _source(n: int, produced: list[int], closed: threading.Event, fail_at: int | None = None):
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"broken at {i}")
            produced.append(i)
            yield i
    finally:
        closed.set()


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_items_arrive_in_order_and_an_error_after_the_items_before_it(depth):
    produced, closed = [], threading.Event()
    assert list(decode_ahead(_source(10, produced, closed), depth)) == list(range(10))
    got = []
    with pytest.raises(ValueError, match="broken at 4"):
        for item in decode_ahead(_source(10, [], threading.Event(), fail_at=4), depth):
            got.append(item)
    assert got == [0, 1, 2, 3]


def test_the_thread_runs_at_most_depth_items_ahead():
    produced, closed = [], threading.Event()
    stream = decode_ahead(_source(100, produced, closed), 3)
    assert next(stream) == 0
    time.sleep(0.5)  # room for the producer to run as far ahead as the queue lets it
    # one consumed, three waiting in the queue, one more held by the producer blocked on the full queue
    assert len(produced) <= 1 + 3 + 1
    stream.close()
    assert closed.wait(5), "closing the consumer closes the source"
    with pytest.raises(StopIteration):
        next(stream)
    assert not any(t.name == "sva-decode-ahead" and t.is_alive() for t in threading.enumerate())


def test_ready_shows_the_decoded_items_without_consuming_them():
    stream = decode_ahead(_source(6, [], threading.Event()), 3)
    assert next(stream) == 0
    deadline = time.monotonic() + 5
    while len(stream.ready(5)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stream.ready(5) == [1, 2, 3] and stream.ready(2) == [1, 2], "at most depth ahead, in order"
    assert list(stream) == [1, 2, 3, 4, 5]
    assert stream.ready(3) == []
    failing = decode_ahead(_source(6, [], threading.Event(), fail_at=2), 4)
    time.sleep(0.3)
    assert failing.ready(5) == [0, 1], "nothing past an error"
    assert [next(failing), next(failing)] == [0, 1]
    with pytest.raises(ValueError):
        next(failing)
    assert decode_ahead(iter([1, 2]), 0).ready(2) == []
