"""`sva doctor`: the command a user runs first. One line per piece (ffmpeg, torch and its device, the model, the
index, Chromium): ok / warn / problem and how to fix it; exit 1 when something is a problem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli import cli_index_options as opts
from agent.cli.app import app
from agent.cli.commands_index import DbOption, ModelOption
from index.db_path import default_db_path


@app.command()
def doctor(
    db: DbOption = None,
    model: ModelOption = None,
    revision: opts.Revision = None,
    dtype: opts.Dtype = None,
    device: opts.Device = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False,
) -> None:
    """Check this installation before a first run: ffmpeg, torch and the device, the model (cached? which
    revision? do its weights match, does it fit in memory?), the index, Chromium. Exit 1 on a problem."""
    from agent.doctor import run_checks

    report = run_checks(Path(db or default_db_path()), model, revision, dtype, device)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        for finding in report.findings:
            typer.echo(finding.line())
    raise typer.Exit(report.exit_code)
