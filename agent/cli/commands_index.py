"""`sva index PATH...` and `sva query "..."`: build the index from videos, answer questions from it."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli import cli_index_options as opts
from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error
from index.db_path import default_db_path

DbOption = Annotated[Optional[Path], typer.Option("--db", help="index file (default: $SVA_DB, else sva/index.duckdb in the user data dir)")]
ModelOption = Annotated[Optional[str], typer.Option("--model", help="Sa2VA hub id (owner/name[@revision]), local dir, or `demo` for the shipped demo model (default: $SVA_MODEL, else the index's model, else ByteDance/Sa2VA-Qwen3-VL-4B at a pinned commit)")]


@app.command("index")
def index(
    paths: Annotated[Optional[list[str]], typer.Argument(help="video files, folders (searched recursively) or globs; with --rebuild, default: the videos the index lists", show_default=False)] = None,
    db: DbOption = None,
    model: ModelOption = None,
    revision: opts.Revision = None,
    dtype: opts.Dtype = None,
    sample_fps: Annotated[Optional[float], opts.SAMPLE_FPS] = None,
    chunk_s: Annotated[Optional[float], opts.CHUNK_S] = None,
    overlap_s: Annotated[Optional[float], opts.OVERLAP_S] = None,
    max_side: Annotated[Optional[int], opts.MAX_SIDE] = None,
    watch: Annotated[Optional[list[str]], typer.Option("--watch", help="expression tracked in every chunk (repeatable)")] = None,
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
    decode_ahead: Annotated[Optional[int], typer.Option(
        min=0, help="chunks decoded ahead of the model in the background (default 3; 0: in turn)")] = None,
    commit_behind: Annotated[Optional[int], typer.Option(
        min=0, help="chunks linked and committed in the background while the next are analysed (default: 4 on CUDA, 0 on CPU: in turn)")] = None,
    batch_chunks: Annotated[Optional[int], typer.Option(
        min=1, help="chunks captioned, grounded and tracked together (default: 4 on CUDA, 1 on CPU)")] = None,
    frame_batch: Annotated[Optional[int], typer.Option(
        min=1, help="frames SAM-2's image encoder takes at once (default: 8 on CUDA, 1 on CPU)")] = None,
    ray: Annotated[bool, typer.Option("--ray", help="analyse chunks on Ray engine actors (a local Ray started for the run, or --ray-address)")] = False,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to use ('auto', HOST:PORT, ray://HOST:PORT); implies --ray")] = None,
    ray_workers: opts.RayWorkers = None,
    ray_cpus_per_worker: Annotated[int, typer.Option(min=1, help="CPUs (torch threads) per CPU actor")] = 1,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="start a new index file from the videos: the old one (damaged or not) is set aside next to it, its accounts, roots and schedules carried over")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the run's report as JSON on stdout")] = False,
) -> None:
    """Index videos: chunk, caption, ground, track, compute events and store. Idempotent; a rerun resumes.

    Settings left unset come from the model's preset (the demo model's sampling and chunking), else the
    defaults. Exit 0: all indexed; 1: some inputs failed (each named); 2: bad usage, nothing usable, or another
    indexer is already writing this index."""
    from agent.cli.cli_progress import BarProgress
    from agent.indexing.index_report import Rebuilt
    from agent.indexing.indexer import listed_videos, run_index
    from agent.indexing.ray_options import RayOptions
    from agent.run_settings import index_settings

    with exit_on_user_error():
        settings = index_settings(
            db or default_db_path(), model, revision, device=device, dtype=dtype, sample_fps=sample_fps, max_side=max_side,
            chunk_s=chunk_s, overlap_s=overlap_s, scene_cuts=scene_cuts, caption=caption, ground=ground,
            track=track, describe=describe, name_objects=name_objects, sweep=sweep, fill_gaps=fill_gaps, watch=watch or [], prompt_every_frame=prompt_every_frame,
            decode_ahead=decode_ahead, commit_behind=commit_behind, batch_chunks=batch_chunks, frame_batch=frame_batch,
        )
    if settings.overlap_s >= settings.chunk_s:
        typer.echo(f"sva: --overlap-s ({settings.overlap_s:g}) must be shorter than --chunk-s ({settings.chunk_s:g})",
                   err=True)
        raise typer.Exit(2)
    ray_options = (RayOptions(address=ray_address, workers=ray_workers, cpus_per_worker=ray_cpus_per_worker)
                   if ray or ray_address else None)
    with exit_on_user_error():
        paths = paths or (listed_videos(settings.db) if rebuild else [])
    if not paths:
        typer.echo("sva: name the videos, folders or globs to index (e.g. `sva index ~/footage`)", err=True)
        raise typer.Exit(2)
    settings.db.parent.mkdir(parents=True, exist_ok=True)

    def rebuilt(what: Rebuilt) -> None:
        typer.echo(f"sva: {what.line(str(settings.db))}", err=True)

    with exit_on_user_error(), BarProgress(len(paths)) as progress:
        report = run_index(paths, settings, progress, command="sva " + " ".join(sys.argv[1:]), ray=ray_options,
                           rebuild=rebuilt if rebuild else None)
    if report.stages is not None and report.stages.chunks:
        typer.echo(f"sva: {report.stages.summary()}", err=True)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    if not report.videos:
        typer.echo(f"sva: no video files in {', '.join(paths)}", err=True)
    raise typer.Exit(report.exit_code)


class VerifyBy(str, Enum):
    """Where a candidate's P(yes) comes from (QuerySettings.verify_by)."""

    answer = "answer"
    grounding = "grounding"


@app.command("query")
def query(
    question: Annotated[str, typer.Argument(help='e.g. "find every moment the dog jumps", "find every jump", "what does the dog do", '
                                                  '"when is the dog not near the car", "the first time the van leaves"',
                                             show_default=False)],
    db: DbOption = None,
    model: ModelOption = None,
    revision: opts.Revision = None,
    dtype: opts.Dtype = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="check candidates with the model (slower, precise); event questions never need it")] = True,
    max_verify: Annotated[Optional[int], typer.Option(min=1, help="most chunks the model checks (default 400); the answer says when it cut")] = None,
    top_n: Annotated[Optional[int], typer.Option(min=1, help="chunks verified when the subject matches no stored object and text search finds the candidates (default 8)")] = None,
    threshold: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="P(yes) needed to keep a candidate (default 0.5)")] = None,
    verify_by: Annotated[Optional[VerifyBy], typer.Option("--verify-by", help="P(yes) from the model's yes/no answer, or from its mask of the subject and the names it gives that up close (the demo model's preset: grounding)")] = None,
    refine: Annotated[Optional[float], typer.Option("--refine", min=0.1, help="refine verified chunks in windows this long, seconds")] = None,
    model_parser: Annotated[Optional[bool], typer.Option("--model-parser/--no-model-parser", help="parse the question with the model first (default on)")] = None,
    prompt_every_frame: Annotated[Optional[bool], opts.PROMPT_EVERY_FRAME] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer with its moments as JSON")] = False,
) -> None:
    """Find every moment that answers a question, with evidence (tracks, events, captions).

    Unset settings come from the model's preset; the model defaults to the one the index was built with."""
    from agent.query.query_graph import run_query
    from agent.run_settings import query_settings

    def progress(line: str) -> None:
        typer.echo(f"sva: {line}", err=True)

    with exit_on_user_error():
        settings = query_settings(db or default_db_path(), model, revision, dtype=dtype, verify=verify, max_verify=max_verify, top_n=top_n,
                                  threshold=threshold, verify_by=verify_by.value if verify_by else None, model_parser=model_parser, refine_window_s=refine,
                                  prompt_every_frame=prompt_every_frame)
        answer = run_query(question, settings, progress=progress if sys.stderr.isatty() else None)
    for error in answer.errors:
        typer.echo(f"sva: {error}", err=True)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    typer.echo(answer.answer)
    for m in answer.moments:
        ev = m.evidence[0] if m.evidence else None
        what = ((ev.phrase or ev.caption or "") if ev else "")[:140]
        if ev and ev.rule:
            # Whole: the rule says how the moment was found, and its end often says whose it is ("named ... up close").
            what = f"{what}: {ev.rule}"
        typer.echo(f"  {m.score:.2f}  {m.video_path}  {m.start_s:.1f}-{m.end_s:.1f} s  {what}")
