"""How every process opens the one DuckDB file, given that DuckDB lets a single process hold it read-write
and, while it does, no other process may open it at all (not even read-only).

Protocol (see index/README.md, "Concurrency"):
- The writer holds the file only for one short transaction (open, BEGIN, one chunk's rows, COMMIT, close).
  Closing checkpoints, so readers never replay a long WAL.
- Readers open it read-only and close it when done, or linger while idle (index/reader.py) and close it
  as soon as they see a writer waiting at the turnstile.
- Both retry the lock with jittered backoff and give up with `IndexBusy` after a timeout.
- A turnstile (`flock` on the sidecar `<db>.lock`) gives the writer priority: the writer holds it for its whole
  transaction, readers hold it only while their own open is in flight. Without it a steady stream of
  overlapping readers could keep a shared lock on the file forever and starve the indexer.

Every connection runs with external file access disabled and the configuration locked, so no SQL that reaches
a connection can read or write files other than the index itself.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from index.errors import IndexBusy, IndexCorrupt, IndexDiskFull, IndexNotFound, IndexOutdated
from index.schema import CURRENT_VERSION, check_not_newer, migrate, schema_version

WRITE_TIMEOUT_S = 120.0
READ_TIMEOUT_S = 15.0

_SAFE_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}

# A writer runs one short transaction and closes: one thread does it in ~18 ms of CPU against ~25 ms with
# DuckDB's worker threads, which on a small machine also take cores from the model the indexer runs beside it.
_WRITE_CONFIG = {"threads": 1}


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc)
    # Cross-process: the OS file lock is held. Same process: DuckDB refuses a second instance with another
    # read_only setting; another thread may close it, so it is waited for like a foreign lock.
    return ("lock" in text.lower() and isinstance(exc, duckdb.IOException)) or "different configuration" in text


class _Backoff:
    def __init__(self, timeout_s: float):
        self.deadline = time.monotonic() + timeout_s
        self.delay = 0.005

    def wait_or_expire(self, max_delay_s: float = 0.25) -> bool:
        """Sleep once (jittered, growing up to `max_delay_s`); False when the deadline has passed."""
        now = time.monotonic()
        if now >= self.deadline:
            return False
        time.sleep(min(self.delay * random.uniform(0.5, 1.5), max(self.deadline - now, 0.0)))
        self.delay = min(self.delay * 1.6, max_delay_s)
        return True


@contextmanager
def _turnstile(db: Path, backoff: _Backoff, hold_for: str, on_busy: Callable[[], None] | None = None) -> Iterator[None]:
    """Exclusive `flock` on `<db>.lock`. A reader that cannot create the file (read-only directory) goes
    without: it cannot be competing with a writer in that directory anyway. `on_busy` runs each time the
    turnstile is found held (a lingering writer lets go of the file there, index/write_session.py)."""
    lock_path = db.with_name(db.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        if hold_for == "write":
            raise
        yield
        return
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if on_busy is not None:
                    on_busy()
                # Short polls: the turnstile is free only between a writer's transactions, and a reader
                # sleeping 250 ms would miss most of those gaps when the indexer commits back to back.
                if not backoff.wait_or_expire(max_delay_s=0.01):
                    raise IndexBusy(f"index {db} is busy: could not get its turnstile to {hold_for}") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# What DuckDB says of a file that is damaged (truncated, overwritten in the middle, not a database at all).
_CORRUPTION = ("not a valid duckdb database file", "corrupt database file", "attempted to read", "checksum",
               "failed to read database header", "serialization error", "internal error")


def corruption(db: Path, exc: BaseException) -> IndexCorrupt | None:
    """The one-line IndexCorrupt for a DuckDB error that says the file is damaged; None for any other error."""
    reason = " ".join(str(exc).split())
    if not isinstance(exc, duckdb.Error) or not any(m in reason.lower() for m in _CORRUPTION):
        return None
    return IndexCorrupt(
        f"{db}: not a readable sva index ({reason[:160]}); sva left it as it is. To recover: "
        f"`sva backup --restore BACKUP --db {db}` puts back a copy made by `sva backup`, or "
        f"`sva index --rebuild FOLDER... --model MODEL --db {db}` sets the file aside and indexes the videos again")


@contextmanager
def corruption_as_user_error(db: Path) -> Iterator[None]:
    """Inside: a DuckDB error that says the file is damaged becomes IndexCorrupt (one line, exit 2)."""
    try:
        yield
    except duckdb.Error as exc:
        damaged = corruption(db, exc)
        if damaged is None:
            raise
        raise damaged from None


# How running out of space reads: ENOSPC, a quota, or the process's file-size limit (RLIMIT_FSIZE: EFBIG).
_NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NO_SPACE_TEXTS = tuple(os.strerror(e).lower() for e in _NO_SPACE_ERRNOS)


def disk_full(db: Path, exc: BaseException) -> IndexDiskFull | None:
    """The one-line IndexDiskFull for an error that says a write ran out of space; None for any other error."""
    if isinstance(exc, OSError):
        if exc.errno not in _NO_SPACE_ERRNOS:
            return None
        reason = f"{exc.filename or db}: {exc.strerror}"
    else:
        text = " ".join(str(exc).split())
        said = [t for t in _NO_SPACE_TEXTS if t in text.lower()]
        if not isinstance(exc, duckdb.Error) or not said:
            return None
        # DuckDB says `... Could not write file "PATH": File too large`: keep the file and the reason.
        quoted = re.search(r'"([^"]+)"', text)
        reason = f"{quoted.group(1) if quoted else db}: {said[0]}"
    return IndexDiskFull(
        f"{db}: no space left to write the index ({reason}); the change in progress was not stored and the index "
        f"is as it was. Free space on that disk, then run the same command again to resume")


@contextmanager
def disk_full_as_user_error(db: Path) -> Iterator[None]:
    """Inside: a write that fails for lack of space becomes IndexDiskFull (one line, exit 2). DuckDB rolls the
    transaction back itself: a failed COMMIT keeps nothing, and a checkpoint that cannot grow the file leaves
    the committed rows in the WAL, replayed on the next open."""
    try:
        yield
    except (duckdb.Error, OSError) as exc:
        full = disk_full(db, exc)
        if full is None:
            raise
        raise full from None


def _connect_retrying(db: Path, read_only: bool, backoff: _Backoff) -> duckdb.DuckDBPyConnection:
    while True:
        try:
            config = dict(_SAFE_CONFIG) if read_only else {**_SAFE_CONFIG, **_WRITE_CONFIG}
            return duckdb.connect(str(db), read_only=read_only, config=config)
        except duckdb.Error as exc:
            damaged = corruption(db, exc)
            if damaged is not None:
                raise damaged from None
            if not _is_lock_conflict(exc):
                raise
            if not backoff.wait_or_expire():
                mode = "read" if read_only else "write"
                raise IndexBusy(f"index {db} is busy: another process held it too long to {mode}") from None


@contextmanager
def open_write(db: Path, timeout_s: float = WRITE_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a current-schema file, creating and migrating it as needed. The caller
    runs one short transaction on it; closing checkpoints the WAL into the file."""
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    backoff = _Backoff(timeout_s)
    with disk_full_as_user_error(db), _turnstile(db, backoff, "write"):
        con = _connect_retrying(db, read_only=False, backoff=backoff)
        try:
            with corruption_as_user_error(db):
                migrate(con, str(db))
                yield con
        finally:
            con.close()


@contextmanager
def exclusive(db: Path, timeout_s: float = WRITE_TIMEOUT_S, checkpoint: bool = True) -> Iterator[None]:
    """No writer can start a transaction on `db` inside the block, and (with `checkpoint`) the file holds every
    committed row itself, a WAL left by a writer that died being checkpointed first: its bytes are a consistent
    copy of the index. Readers may go on reading; writers wait at the turnstile, as they wait for each other."""
    db = Path(db)
    backoff = _Backoff(timeout_s)
    with disk_full_as_user_error(db), _turnstile(db, backoff, "write"):
        if checkpoint and db.with_name(db.name + ".wal").exists():
            con = _connect_retrying(db, read_only=False, backoff=backoff)
            try:
                with corruption_as_user_error(db):
                    con.execute("CHECKPOINT")
            finally:
                con.close()
        yield


def connect_file(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to any DuckDB file as it is (no turnstile, no migration), with the index's safe
    settings (so it can share this process with the index's own connections). DuckDB errors pass through."""
    return duckdb.connect(str(path), read_only=True, config=dict(_SAFE_CONFIG))


@contextmanager
def write_transaction(db: Path, timeout_s: float = WRITE_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """All statements inside land together or not at all (also under kill -9: DuckDB's WAL only replays
    committed transactions)."""
    with open_write(db, timeout_s) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def connect_read(db: Path, timeout_s: float = READ_TIMEOUT_S) -> duckdb.DuckDBPyConnection:
    """A read-only connection seeing the last committed state; the caller closes it (soon: writers wait for
    it). An older file is migrated first (a short write); a newer one raises `IndexTooNew`."""
    db = Path(db)
    if not db.exists():
        raise IndexNotFound(f"no index at {db}; run `sva index` first or pass --db")
    backoff = _Backoff(timeout_s)
    for _attempt in range(2):
        with _turnstile(db, backoff, "read"):
            con = _connect_retrying(db, read_only=True, backoff=backoff)
        try:
            with corruption_as_user_error(db):
                version = schema_version(con)
            check_not_newer(version, str(db))
        except BaseException:
            con.close()
            raise
        if version == CURRENT_VERSION:
            return con
        con.close()
        _upgrade_for_reader(db, version, timeout_s)
    raise IndexOutdated(f"index {db} is schema v{version} and could not be upgraded to v{CURRENT_VERSION}")


@contextmanager
def open_read(db: Path, timeout_s: float = READ_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect_read(db, timeout_s)
    try:
        with corruption_as_user_error(Path(db)):
            yield con
    finally:
        con.close()


def writer_waiting(db: Path) -> bool:
    """True while someone holds the turnstile: a writer waiting for readers to let go (or, briefly, another
    reader opening). Lingering readers poll this to step aside."""
    return flock_held(Path(db).with_name(Path(db).name + ".lock"))


def flock_held(path: Path) -> bool:
    """True while some open file holds an flock on `path`; a holder that died (also by kill -9) holds none."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the descriptor also drops the lock if we got it
    return False


def _upgrade_for_reader(db: Path, version: int, timeout_s: float) -> None:
    if not os.access(db, os.W_OK) or not os.access(db.parent, os.W_OK):
        raise IndexOutdated(
            f"index {db} is schema v{version}, this sva needs v{CURRENT_VERSION}, and the file is read-only; "
            "run `sva index` once with write access to upgrade it"
        )
    with open_write(db, timeout_s):
        pass
