"""Decoding runs ahead of the model: a background thread pulls a video's chunks out of the decoder into a
bounded queue while the model works on the current one, so a chunk's frames are (mostly) ready when the
graph asks for them, and the graph can take the chunks already decoded (`ready`) to caption several in one
batched generation. Memory stays flat: at most `depth` decoded chunks wait, whatever the video's length.
Items and errors arrive in order: chunks decoded before a broken part of the file are delivered, then the
decoder's error is raised where the graph asks for the next chunk, as without the thread. `close` (also when
the consumer stops early) tells the thread to stop and closes the decoder.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class DecodeAhead(Generic[T]):
    """The items of `items`, produced by a background thread up to `depth` ahead (0: no thread, in turn)."""

    def __init__(self, items: Iterator[T], depth: int):
        self._items = items
        self._held: deque = deque()  # (item, error) taken off the queue by `ready`, not yet consumed
        self._done = False
        self._stop = threading.Event()
        self._queue: queue.Queue = queue.Queue()
        # One slot per decoded chunk not yet consumed (in the queue or held by `ready`): the memory bound.
        self._slots = threading.Semaphore(max(depth, 1))
        self._thread = None
        if depth > 0:
            self._thread = threading.Thread(target=self._produce, name="sva-decode-ahead", daemon=True)
            self._thread.start()

    def __iter__(self) -> "DecodeAhead[T]":
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        if self._thread is None:
            return next(self._items)
        item, error = self._held.popleft() if self._held else self._queue.get()
        if error is not None or item is _END:
            self._done = True
            if error is not None:
                raise error
            raise StopIteration
        self._slots.release()
        return item

    def ready(self, n: int) -> list[T]:
        """Up to `n` of the next items that are already decoded, without consuming them (nothing waits)."""
        if self._thread is None:
            return []
        while len(self._held) < n and not (self._held and self._held[-1][0] is _END):
            try:
                self._held.append(self._queue.get_nowait())
            except queue.Empty:
                break
        out = []
        for item, error in self._held:
            if error is not None or item is _END or len(out) == n:
                break
            out.append(item)
        return out

    def close(self) -> None:
        self._done = True
        self._stop.set()
        if self._thread is None:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()
            return
        self._thread.join()  # it sees the stop within 0.1 s, or when the chunk it is decoding is done

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, None)):
                    return
            self._put((_END, None))
        except BaseException as exc:  # handed to the consumer, in order
            self._put((_END, exc))
        finally:
            close = getattr(self._items, "close", None)
            if close is not None and self._stop.is_set():
                close()  # ends the decoder (and closes its file) when the consumer went away

    def _put(self, entry) -> bool:
        """Queue a decoded chunk once a slot is free (the end or an error needs none); False when stopped."""
        if entry[0] is not _END:
            while not self._slots.acquire(timeout=0.1):
                if self._stop.is_set():
                    return False
        if self._stop.is_set():
            return False
        self._queue.put(entry)
        return True


def decode_ahead(items: Iterator[T], depth: int) -> DecodeAhead[T]:
    return DecodeAhead(items, depth)
