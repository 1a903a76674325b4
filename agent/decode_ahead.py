"""Decoding runs ahead of the model: a background thread pulls a video's chunks out of the decoder into a
bounded queue while the model works on the current one, so a chunk's frames are (mostly) ready when the
graph asks for them. Memory stays flat: at most `depth` decoded chunks wait in the queue, whatever the video's
length. Items and errors arrive in order: chunks decoded before a broken part of the file are delivered, then
the decoder's error is raised where the graph asks for the next chunk, as without the thread. When the
consumer stops early (a fatal error, the generator closed), the thread is told to stop and exits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def decode_ahead(items: Iterator[T], depth: int) -> Iterator[T]:
    """The items of `items`, produced by a background thread up to `depth` ahead (0: no thread)."""
    if depth <= 0:
        yield from items
        return
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(ready, (item, None), stop):
                    return
            _put(ready, (_END, None), stop)
        except BaseException as exc:  # handed to the consumer, in order
            _put(ready, (_END, exc), stop)
        finally:
            close = getattr(items, "close", None)
            if close is not None and stop.is_set():
                close()  # ends the decoder (and its ffmpeg process) when the consumer went away

    thread = threading.Thread(target=produce, name="sva-decode-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)


def _put(ready: queue.Queue, entry, stop: threading.Event) -> bool:
    """Put unless told to stop; False when stopped."""
    while not stop.is_set():
        try:
            ready.put(entry, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
