"""One indexer per index file at a time.

Two indexers on one DB would not corrupt it (every write is a short all-or-nothing transaction), but they
would analyse the same pending chunks twice and fight over the file's write lock for nothing. So a run
(`sva index`, a scheduled run, a Ray run's writer) holds an exclusive lock on the sidecar
`<db>.indexer.lock` from start to end (the `filelock` package: `flock` on Unix, never its soft fallback, so
`lock_held` can ask the OS); a second one fails at once with a one-line `IndexerRunning` naming the DB and
the holder (exit code 2). Readers never touch this file, so queries and the dashboard are unaffected. The
lock dies with its process (also under kill -9): there is nothing stale to clean up.

The same mechanism keeps a second `sva schedule run` off a DB that already has a scheduler
(`<db>.scheduler.lock`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from index.connection import flock_held
from sa2va_engine.user_error import UserError


class IndexerRunning(UserError):
    """Another process already holds the index's indexer (or scheduler) lock."""


def lock_path(db: Path, role: str = "indexer") -> Path:
    db = Path(db)
    return db.with_name(f"{db.name}.{role}.lock")


@contextmanager
def hold_lock(db: Path, role: str = "indexer", holder: str = "") -> Iterator[None]:
    """Hold `<db>.<role>.lock` for the block, or raise `IndexerRunning` at once if another process holds it.
    `holder` (e.g. the command line) is written into the file so the loser's message can name it."""
    path = lock_path(db, role)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = f"{os.getpid()}\n{holder}\n".encode()

    def claim(fd: int) -> None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)

    # Not thread-local and a fresh object per hold: a second hold in this process is refused as in another.
    lock = FileLock(path, thread_local=False, fallback_to_soft=False, on_acquired=claim)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        raise IndexerRunning(_busy_message(Path(db), role, _read_holder(path))) from None
    try:
        yield
    finally:
        try:
            os.truncate(path, 0)  # no holder named once it is gone
        finally:
            lock.release()


def lock_held(db: Path, role: str = "indexer") -> bool:
    """Whether a live process holds `<db>.<role>.lock` now (a killed holder's lock is gone with it): what tells
    a video left "indexing" by a run that died from one being indexed."""
    return flock_held(lock_path(db, role))


def _read_holder(path: Path) -> tuple[str, str]:
    """(pid, command) the holder wrote; empty strings if it has not written them yet."""
    try:
        text = path.read_bytes()[:4096].decode(errors="replace")
    except OSError:
        text = ""
    pid, _, rest = text.partition("\n")
    return pid.strip(), rest.strip()


def _busy_message(db: Path, role: str, holder: tuple[str, str]) -> str:
    pid, command = holder
    who = f"pid {pid}" if pid else "another process"
    if command:
        who += f": {command}"
    if role == "indexer":
        return f"index {db} is already being indexed ({who}); wait for that run to finish or stop it"
    return f"index {db} already has a {role} ({who}); stop it first"
