"""`sva backup`: a checked copy of the index file, and `--restore` to put one back."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error
from index.db_path import default_db_path


@app.command("backup")
def backup(
    db: Annotated[Optional[Path], typer.Option("--db", help="index file (default: $SVA_DB, else sva/index.duckdb in the user data dir)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="the copy to write, a new file (default: next to the index, named with the time); best on another disk")] = None,
    restore: Annotated[Optional[Path], typer.Option("--restore", help="put this backup in place of the index instead; the current file is set aside next to it, not deleted")] = None,
) -> None:
    """Copy the index while indexing may go on (it waits for the copy), and check that the copy reads back the
    same rows. With --restore BACKUP: check the backup, set the current index aside and put the backup in its
    place (refused while an indexer is running). Exit 0: done; 2: nothing was written or replaced."""
    from agent.indexing.index_lock import hold_lock
    from index.backup import restore_backup, write_backup

    db = db or default_db_path()
    with exit_on_user_error():
        if restore is not None:
            with hold_lock(db, "indexer", "sva backup --restore"):
                restored = restore_backup(restore, db)
            aside = f"; the file it replaced is kept as {restored.set_aside}" if restored.set_aside else ""
            typer.echo(f"sva: restored {db} from {restore} ({restored.summary.line()}){aside}", err=True)
            return
        if not db.exists():
            typer.echo(f"sva: no index at {db}; run `sva index` first or pass --db", err=True)
            raise typer.Exit(2)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = out or db.with_name(f"{db.stem}-backup-{stamp}{db.suffix}")
        summary = write_backup(db, target)
    typer.echo(f"sva: backed up {db} to {target} ({summary.line()})", err=True)
