"""`sva export`: tracks from the index as JSONL, MOTChallenge text or COCO JSON (formats: index/export.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error
from index.db_path import default_db_path
from index.export import FORMATS, export_index


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="file to write (MOT with several videos: a directory)"),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl | mot | coco"),
    db: Optional[Path] = typer.Option(None, "--db", help="index file (default: $SVA_DB, else sva/index.duckdb in the user data dir)"),
    video: Optional[Path] = typer.Option(None, "--video", help="export only this video"),
    fps: Optional[float] = typer.Option(None, "--fps", help="MOT frame rate (default: each video's probed fps)"),
) -> None:
    """Export tracked objects with their masks (COCO RLE)."""
    if fmt not in FORMATS:
        typer.echo(f"sva: unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    with exit_on_user_error():
        report = export_index(db or default_db_path(), fmt, out, video=video, fps=fps)
    typer.echo(f"wrote {report.records} {fmt} records from {report.videos} video(s) to {', '.join(report.files)}")
