"""A writer's connection kept open between its transactions, while nobody else asks for the file.

Why: opening the DuckDB file builds a fresh database instance, ~15 ms of CPU whatever the file holds, and the
indexer opened it twice a chunk (the link's read of the previous chunk's tracks, then the commit): on a small
machine that is time taken from the model it runs beside (#24).

The file protocol of index/connection.py still holds:
- every transaction (and every read) runs holding the turnstile, so a backup (`exclusive`) or another writer
  never sees one half done, and each transaction is all-or-nothing as before;
- between them the connection lingers, holding DuckDB's file lock but not the turnstile. Whoever wants the file
  (a reader or writer in another process, or another connection in this one) takes the turnstile to open it;
  a watcher thread sees that within ~50 ms and closes the idle connection, as a lingering reader does
  (index/reader.py). A transaction that finds the turnstile taken lets go of the file first, so the two never
  wait on each other;
- the connection also closes after `linger_s` idle and at `close()`; closing checkpoints the WAL, as every
  writer's close did. A kill -9 while it lingers loses nothing committed: the next open replays the WAL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from index.connection import (
    _Backoff, _connect_retrying, _turnstile, corruption_as_user_error, disk_full_as_user_error, writer_waiting,
)
from index.schema import migrate

_WATCH_INTERVAL_S = 0.05


class WriteSession:
    """One process's write connection to `db`; calls are serialised on a lock (one thread at a time)."""

    def __init__(self, db: Path, timeout_s: float, linger_s: float):
        self.db = Path(db)
        self.timeout_s = timeout_s
        self.linger_s = linger_s
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0  # calls in progress on this thread (a call inside a call reuses the connection)
        self._last_used = 0.0
        self._watcher: threading.Thread | None = None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All statements inside land together or not at all."""
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                self._abandon(con)
                raise
            con.execute("COMMIT")

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, for reads or one transaction, with the turnstile held."""
        with self._lock:
            if self._depth:
                yield self._open_con()
                return
            backoff = _Backoff(self.timeout_s)
            with disk_full_as_user_error(self.db), _turnstile(self.db, backoff, "write", on_busy=self._drop):
                self._depth += 1
                try:
                    con = self._open_con(backoff)
                    with corruption_as_user_error(self.db):
                        yield con
                except BaseException:
                    try:
                        self._drop()  # after an error the connection's state is not worth keeping
                    except (duckdb.Error, OSError):
                        pass  # the error to tell is the one that got here
                    raise
                finally:
                    self._depth -= 1
                    self._last_used = time.monotonic()
                if self.linger_s <= 0:
                    self._drop()  # inside: closing checkpoints, which can find the disk full
            self._watch()

    def close(self) -> None:
        with self._lock, disk_full_as_user_error(self.db):
            self._drop()

    def _open_con(self, backoff: _Backoff | None = None) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = _connect_retrying(self.db, read_only=False, backoff=backoff or _Backoff(self.timeout_s))
            try:
                with corruption_as_user_error(self.db):
                    migrate(con, str(self.db))
            except BaseException:
                con.close()
                raise
            self._con = con
        return self._con

    def _abandon(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # a failed COMMIT has rolled back already; the connection is dropped either way

    def _drop(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            con.close()

    def _watch(self) -> None:
        # Started and cleared under self._lock, so a watcher that is just leaving never leaves a connection
        # unwatched.
        if self._watcher is None and self._con is not None:
            self._watcher = threading.Thread(target=self._step_aside, name="sva-index-writer", daemon=True)
            self._watcher.start()

    def _step_aside(self) -> None:
        """Close the idle connection when someone takes the turnstile or `linger_s` passes; never during a call."""
        while True:
            time.sleep(_WATCH_INTERVAL_S)
            if not self._lock.acquire(blocking=False):
                continue  # a call is running: it holds the turnstile and uses the connection
            try:
                if self._con is not None and (
                    time.monotonic() - self._last_used > self.linger_s or writer_waiting(self.db)
                ):
                    try:
                        self._drop()
                    except (duckdb.Error, OSError):
                        pass  # the checkpoint failed (a full disk, say): the WAL keeps every commit for the next open
                if self._con is None:
                    self._watcher = None
                    return
            finally:
                self._lock.release()
