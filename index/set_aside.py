"""Moving an index file out of the way without losing it: a restore or a rebuild replaces the index, and the file
it replaces (damaged or not) goes next to it under a dated name with its WAL, for the operator to keep or delete.
Also what a rebuild keeps from the old file: the operator's own rows (accounts, roots, schedules), which cannot
be derived again from the videos."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

# Rows the operator entered, as opposed to what indexing derives from the videos.
OPERATOR_TABLES = ("access_accounts", "access_roots", "schedules")
_COLUMNS = ("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
            "ORDER BY column_index")
_ALL_ROWS = "SELECT * FROM query_table(?)"


def set_aside(db: Path, why: str) -> Path | None:
    """Rename `db` (and `<db>.wal`) to `<db>.<why>-<UTC time>`; the new path, or None when there is no file."""
    db = Path(db)
    if not db.exists():
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    target = db.with_name(f"{db.name}.{why}-{stamp}")
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        os.replace(wal, target.with_name(target.name + ".wal"))
    os.replace(db, target)
    return target


def operator_rows(path: Path) -> dict[str, tuple[list[str], list[tuple]]] | None:
    """The operator's rows of the index file at `path` (table -> (columns, rows)), read as the file is (no
    migration); tables an older file lacks are left out. None when the file cannot be read (damaged)."""
    import duckdb

    from index.connection import connect_file

    try:
        con = connect_file(path)
    except duckdb.Error:
        return None
    try:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
        out = {}
        for table in OPERATOR_TABLES:
            if table in present:
                columns = [r[0] for r in con.execute(_COLUMNS, [table]).fetchall()]
                out[table] = (columns, con.execute(_ALL_ROWS, [table]).fetchall())
        return out
    except duckdb.Error:
        return None
    finally:
        con.close()


def put_operator_rows(db: Path, kept: dict[str, tuple[list[str], list[tuple]]]) -> int:
    """Insert rows read by `operator_rows` into the (new) index `db`, by column name; returns how many. A
    schedule's last run belongs to the old file's jobs, so it is forgotten (the next run fills it again)."""
    from index.connection import write_transaction

    forget = {"last_job_id"}
    n = 0
    with write_transaction(db) as con:
        for table, (columns, rows) in kept.items():
            have = {r[0] for r in con.execute(_COLUMNS, [table]).fetchall()}
            keep = [i for i, c in enumerate(columns) if c in have and c not in forget]
            if not rows or not keep:
                continue
            names = ", ".join(f'"{columns[i]}"' for i in keep)
            marks = ", ".join("?" for _ in keep)
            # Table and column names are the new schema's own (OPERATOR_TABLES, `have`), never the old file's text.
            con.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                            [[row[i] for i in keep] for row in rows])
            n += len(rows)
    return n
