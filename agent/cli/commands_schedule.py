"""`sva schedule add/list/remove/run`: index folders on a timetable, schedules kept in the index file."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli import cli_index_options as opts
from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error
from index.db_path import default_db_path

schedule_app = typer.Typer(no_args_is_help=True, help="Index folders on a timetable (kept in the index file).")
app.add_typer(schedule_app, name="schedule")

DbOption = Annotated[Optional[Path], typer.Option("--db", help="index file (default: $SVA_DB, else sva/index.duckdb in the user data dir)")]


def _local(t: datetime | None) -> str:
    if t is None:
        return "-"
    return t.replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@schedule_app.command("add")
def add(
    watch_dir: Annotated[Path, typer.Option("--watch", help="folder to index (searched recursively)", show_default=False)],
    every: Annotated[Optional[str], typer.Option(help="interval: 90s, 15m, 1h, 1h30m, 2d (first run: at once)")] = None,
    cron: Annotated[Optional[str], typer.Option(help="five-field cron line in local time, e.g. '0 2 * * *'")] = None,
    db: DbOption = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Sa2VA hub id or local dir (default: $SVA_MODEL at run time, else the official 4B)")] = None,
    sample_fps: Annotated[Optional[float], opts.SAMPLE_FPS] = None,
    chunk_s: Annotated[Optional[float], opts.CHUNK_S] = None,
    overlap_s: Annotated[Optional[float], opts.OVERLAP_S] = None,
    max_side: Annotated[Optional[int], opts.MAX_SIDE] = None,
    watch_for: Annotated[Optional[list[str]], typer.Option("--watch-for", help="expression tracked in every chunk (repeatable; `sva index --watch`)")] = None,
    scene_cuts: opts.SceneCuts = False,
    caption: opts.Caption = True,
    ground: opts.Ground = True,
    track: opts.Track = True,
    describe: Annotated[Optional[bool], opts.DESCRIBE] = None,
    name_objects: Annotated[Optional[bool], opts.NAME_OBJECTS] = None,
    sweep: Annotated[Optional[bool], opts.SWEEP] = None,
    fill_gaps: Annotated[Optional[bool], opts.FILL_GAPS] = None,
    prompt_every_frame: Annotated[Optional[bool], opts.PROMPT_EVERY_FRAME] = None,
    device: opts.Device = None,
    dtype: opts.Dtype = None,
    ray: Annotated[bool, typer.Option("--ray", help="run on Ray: a local Ray per run, or --ray-address")] = False,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to run on ('auto', HOST:PORT, ray://HOST:PORT); implies --ray")] = None,
    ray_workers: opts.RayWorkers = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the schedule as JSON")] = False,
) -> None:
    """Add a schedule: index a folder every interval or on a cron line; each run indexes new or changed files only."""
    from agent.indexing.ray_options import RayOptions
    from agent.run_settings import index_settings
    from agent.schedule.schedule_spec import ScheduledRun, ScheduleError, check_cron, parse_every
    from agent.schedule.schedule_store import ScheduleStore

    db = db or default_db_path()
    with exit_on_user_error():
        if (every is None) == (cron is None):
            raise ScheduleError("give exactly one of --every and --cron")
        every_s = parse_every(every) if every is not None else None
        cron_line = check_cron(cron) if cron is not None else None
        if model and Path(model).expanduser().exists():
            model = str(Path(model).expanduser().resolve())  # the scheduler may run from another directory
        # The model's preset fills what was not given, as for `sva index`; an unnamed model stays unnamed in
        # the schedule so each run takes $SVA_MODEL (or the index's model) at its own time.
        settings = index_settings(
            db, model, device=device, dtype=dtype, sample_fps=sample_fps, max_side=max_side, chunk_s=chunk_s,
            overlap_s=overlap_s, scene_cuts=scene_cuts, caption=caption, ground=ground, track=track,
            describe=describe, name_objects=name_objects, sweep=sweep, fill_gaps=fill_gaps, watch=watch_for or [], prompt_every_frame=prompt_every_frame,
        ).model_copy(update={"model": model})
        if settings.overlap_s >= settings.chunk_s:
            raise ScheduleError(f"--overlap-s ({settings.overlap_s:g}) must be shorter than --chunk-s "
                                f"({settings.chunk_s:g})")
        ray_options = RayOptions(address=ray_address, workers=ray_workers) if (ray or ray_address) else None
        schedule = ScheduleStore(db).add(watch_dir, ScheduledRun.of(settings, ray_options), every_s=every_s,
                                         cron=cron_line)
    if as_json:
        typer.echo(schedule.model_dump_json(indent=2))
        return
    typer.echo(f"schedule {schedule.schedule_id}: {schedule.watch_dir} {schedule.when()}; "
               f"next run {_local(schedule.next_run_at)}")


@schedule_app.command("list")
def list_(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the schedules as JSON")] = False,
) -> None:
    """The schedules of an index, with their last and next runs (local time)."""
    from agent.schedule.schedule_store import ScheduleStore

    with exit_on_user_error():
        schedules = ScheduleStore(db or default_db_path()).all()
    if as_json:
        typer.echo(json.dumps([json.loads(s.model_dump_json()) for s in schedules], indent=2))
        return
    if not schedules:
        typer.echo("no schedules; add one with `sva schedule add --watch DIR --every 1h`")
        return
    for s in schedules:
        last = f"last {_local(s.last_run_at)} {s.last_status or ''}".rstrip()
        if s.last_job_id is not None:
            last += f" (job {s.last_job_id})"
        state = "" if s.enabled else " [disabled]"
        typer.echo(f"{s.schedule_id:>3}  {s.watch_dir}  {s.when()}{state}  next {_local(s.next_run_at)}  {last}")


@schedule_app.command("remove")
def remove(
    schedule_id: Annotated[int, typer.Argument(help="id shown by `sva schedule list`", show_default=False)],
    db: DbOption = None,
) -> None:
    """Remove a schedule (a run in progress finishes; indexed videos stay)."""
    from agent.schedule.schedule_store import ScheduleStore

    with exit_on_user_error():
        ScheduleStore(db or default_db_path()).remove(schedule_id)
    typer.echo(f"removed schedule {schedule_id}")


@schedule_app.command("run")
def run(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="run every enabled schedule now, once, then exit (for cron or a systemd timer)")] = False,
    sync_s: Annotated[float, typer.Option(min=0.05, help="seconds between re-reads of the schedules table")] = 30.0,
    max_runs: Annotated[Optional[int], typer.Option(min=1, help="exit after this many scheduled runs")] = None,
    max_ticks: Annotated[Optional[int], typer.Option(min=1, help="exit after this many re-reads (smoke tests)")] = None,
) -> None:
    """Run the scheduler: each schedule's folder is indexed when due (new or changed files only).

    Exit 0: every run finished without failures; 1: some run failed or was skipped (busy); 2: usage error,
    or another scheduler already runs on this index."""
    from agent.schedule.schedule_runner import ScheduleRunner

    runner = ScheduleRunner(db or default_db_path(), sync_s=sync_s, max_runs=max_runs, max_ticks=max_ticks)
    with exit_on_user_error():
        outcomes = runner.run_once() if once else runner.serve()
    raise typer.Exit(1 if any(o.status != "done" for o in outcomes) else 0)
