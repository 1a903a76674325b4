"""Copies of the index file: `sva backup` writes one, `sva backup --restore` puts one back.

A backup is the index file's bytes taken while no writer can be inside a transaction (index/connection.py,
`exclusive`), so it is a consistent index that opens as it is; an indexer that wants to commit meanwhile waits
at the turnstile, as it waits for another writer. Both directions check what they copy by reading every row of
every table (which makes DuckDB verify each block's checksum) and comparing a fingerprint of the rows, so a copy
that would not open, or differs, is never left in place. Nothing is ever written over: the file a restore
replaces is set aside next to it (index/set_aside.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
from pydantic import BaseModel, ConfigDict

from index.connection import connect_file, exclusive
from index.errors import BackupUnusable, IndexCorrupt
from index.schema import check_not_newer, schema_version
from index.set_aside import set_aside

# Rows and an order-free fingerprint of one table, named as a parameter (query_table), never spliced in.
_COUNT_AND_FINGERPRINT = "SELECT count(*), bit_xor(hash(t)) FROM query_table(?) t"


class IndexSummary(BaseModel):
    """What a file holds, read row by row: table -> rows, and table -> fingerprint of its rows (XOR of row
    hashes, None for an empty table): two files with equal summaries hold the same rows."""

    model_config = ConfigDict(frozen=True)

    path: str
    schema_version: int
    rows: dict[str, int]
    fingerprint: dict[str, int | None]

    def line(self) -> str:
        videos, chunks = self.rows.get("videos", 0), self.rows.get("chunks", 0)
        return f"schema v{self.schema_version}, {videos} video(s), {chunks} chunk(s), {sum(self.rows.values())} rows"


def summarize(path: Path) -> IndexSummary:
    """Read every row of the sva index at `path` (read-only, nothing migrated). Raises `BackupUnusable` naming the
    file when it is missing, not a database, damaged, or not an sva index this sva can read."""
    path = Path(path)
    if not path.is_file():
        raise BackupUnusable(f"{path}: no such file; name a backup written by `sva backup`")
    try:
        con = connect_file(path)
    except duckdb.Error as exc:
        raise _unusable(path, exc) from None
    try:
        version = schema_version(con)
        if version == 0:
            raise BackupUnusable(f"{path}: a database but not an sva index (no schema_version table)")
        check_not_newer(version, str(path))
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name").fetchall()]
        rows, fingerprint = {}, {}
        for table in tables:
            n, fp = con.execute(_COUNT_AND_FINGERPRINT, [table]).fetchone()
            rows[table], fingerprint[table] = int(n), (None if fp is None else int(fp))
    except duckdb.Error as exc:
        raise _unusable(path, exc) from None
    finally:
        con.close()
    return IndexSummary(path=str(path), schema_version=version, rows=rows, fingerprint=fingerprint)


def write_backup(db: Path, out: Path) -> IndexSummary:
    """Copy the index `db` to `out` (a new file) and check the copy holds the same rows; returns its summary."""
    db, out = Path(db), Path(out)
    if out.exists():
        raise BackupUnusable(f"{out}: already exists; choose another --out (a backup never replaces a file)")
    if out.resolve() == db.resolve():
        raise BackupUnusable(f"{out}: is the index itself; choose another --out")
    partial = out.with_name(f".{out.name}.partial")
    with exclusive(db):
        try:
            source = summarize(db)
        except BackupUnusable as exc:
            raise IndexCorrupt(f"{db}: {str(exc).split(': ', 1)[1].split('; ')[0]}; there is nothing sound to back "
                               f"up. To recover: `sva backup --restore BACKUP --db {db}` from an earlier backup, or "
                               f"`sva index --rebuild FOLDER... --model MODEL --db {db}`") from None
        _copy(db, partial, out)
        try:
            copy = summarize(partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if source.fingerprint != copy.fingerprint:
            partial.unlink(missing_ok=True)
            raise BackupUnusable(f"{out}: the copy does not read back as the index did; nothing was written; "
                                 f"check the disk of {out.parent}")
        os.replace(partial, out)
    _sync_dir(out.parent)
    return copy.model_copy(update={"path": str(out)})


class Restored(BaseModel):
    model_config = ConfigDict(frozen=True)

    summary: IndexSummary
    set_aside: str | None  # where the file it replaced went (None: there was none)


def restore_backup(backup: Path, db: Path) -> Restored:
    """Put the backup in place of `db`. The current file (damaged or not) and its WAL are set aside next to it,
    never deleted; the caller holds the indexer lock so no run is writing. An older backup is migrated when the
    index is next opened, as any older index is."""
    backup, db = Path(backup), Path(db)
    wanted = summarize(backup)
    if backup.resolve() == db.resolve():
        raise BackupUnusable(f"{backup}: is the index itself; name a backup written by `sva backup`")
    db.parent.mkdir(parents=True, exist_ok=True)
    partial = db.with_name(f".{db.name}.restoring")
    # A damaged index cannot be checkpointed, and its WAL goes aside with it: only the turnstile is needed.
    with exclusive(db, checkpoint=False):
        _copy(backup, partial, db)
        try:
            copied = summarize(partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if copied.fingerprint != wanted.fingerprint:
            partial.unlink(missing_ok=True)
            raise BackupUnusable(f"{backup}: the copy does not read back as the backup did; the index was not "
                                 f"touched; check the disk of {db.parent}")
        aside = set_aside(db, "replaced")
        os.replace(partial, db)
    _sync_dir(db.parent)
    return Restored(summary=wanted.model_copy(update={"path": str(db)}), set_aside=str(aside) if aside else None)


def _copy(src: Path, partial: Path, final: Path) -> None:
    """Bytes of `src` into `partial`, flushed to disk; on failure nothing is left behind."""
    try:
        with open(src, "rb") as r, open(partial, "wb") as w:
            shutil.copyfileobj(r, w, 16 << 20)
            w.flush()
            os.fsync(w.fileno())
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupUnusable(f"{final}: could not write the copy ({exc.strerror or exc}); nothing was written; free "
                             f"space on {final.parent} or choose another place") from None


def _sync_dir(folder: Path) -> None:
    """Make a rename durable: the directory entry is flushed, not only the file."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unusable(path: Path, exc: BaseException) -> BackupUnusable:
    reason = " ".join(str(exc).split())[:160]
    return BackupUnusable(f"{path}: not a readable sva index ({reason}); name another copy")

