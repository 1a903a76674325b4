"""`sva index PATH...` and `sva query "..."`: build the index from videos, answer questions from it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent import cli_index_options as opts
from agent.cli import app
from agent.cli_errors import exit_on_user_error
from index.db_path import default_db_path

DbOption = Annotated[Optional[Path], typer.Option("--db", help="index file (default: $SVA_DB, else sva/index.duckdb in the user data dir)")]
ModelOption = Annotated[Optional[str], typer.Option("--model", help="Sa2VA hub id or local dir (default: $SVA_MODEL, else ByteDance/Sa2VA-Qwen3-VL-4B)")]


@app.command("index")
def index(
    paths: Annotated[list[str], typer.Argument(help="video files, folders (searched recursively) or globs", show_default=False)],
    db: DbOption = None,
    model: ModelOption = None,
    sample_fps: opts.SampleFps = 2.0,
    chunk_s: opts.ChunkS = 10.0,
    overlap_s: opts.OverlapS = 1.0,
    max_side: opts.MaxSide = 1024,
    watch: Annotated[Optional[list[str]], typer.Option("--watch", help="expression tracked in every chunk (repeatable)")] = None,
    scene_cuts: opts.SceneCuts = False,
    caption: opts.Caption = True,
    ground: opts.Ground = True,
    track: opts.Track = True,
    describe: opts.Describe = True,
    prompt_every_frame: opts.PromptEveryFrame = False,
    device: opts.Device = None,
    ray: Annotated[bool, typer.Option("--ray", help="analyse chunks on Ray engine actors (a local Ray started for the run, or --ray-address)")] = False,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to use ('auto', HOST:PORT, ray://HOST:PORT); implies --ray")] = None,
    ray_workers: opts.RayWorkers = None,
    ray_cpus_per_worker: Annotated[int, typer.Option(min=1, help="CPUs (torch threads) per CPU actor")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print the run's report as JSON on stdout")] = False,
) -> None:
    """Index videos: chunk, caption, ground, track and store. Idempotent; a rerun resumes where it stopped.

    Exit 0: all indexed; 1: some inputs failed (each named); 2: bad usage, nothing usable, or another
    indexer is already writing this index."""
    from agent.cli_progress import BarProgress
    from agent.index_settings import IndexSettings
    from agent.indexer import run_index
    from agent.ray_options import RayOptions

    if overlap_s >= chunk_s:
        typer.echo(f"sva: --overlap-s ({overlap_s:g}) must be shorter than --chunk-s ({chunk_s:g})", err=True)
        raise typer.Exit(2)
    settings = IndexSettings(
        db=db or default_db_path(), model=model, device=device, sample_fps=sample_fps, max_side=max_side,
        chunk_s=chunk_s, overlap_s=overlap_s, scene_cuts=scene_cuts, caption=caption, ground=ground, track=track,
        describe=describe, watch=watch or [], prompt_every_frame=prompt_every_frame,
    )
    ray_options = (RayOptions(address=ray_address, workers=ray_workers, cpus_per_worker=ray_cpus_per_worker)
                   if ray or ray_address else None)
    settings.db.parent.mkdir(parents=True, exist_ok=True)
    with exit_on_user_error(), BarProgress(len(paths)) as progress:
        report = run_index(paths, settings, progress, command="sva " + " ".join(sys.argv[1:]), ray=ray_options)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    if not report.videos:
        typer.echo(f"sva: no video files in {', '.join(paths)}", err=True)
    raise typer.Exit(report.exit_code)


@app.command("query")
def query(
    question: Annotated[str, typer.Argument(help='e.g. "find every moment the dog jumps"', show_default=False)],
    db: DbOption = None,
    model: ModelOption = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="check candidates with the model (slower, precise)")] = True,
    top_n: Annotated[int, typer.Option(min=1, help="candidate chunks verified")] = 8,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="P(yes) needed to keep a candidate")] = 0.5,
    refine: Annotated[Optional[float], typer.Option("--refine", min=0.1, help="refine verified chunks in windows this long, seconds")] = None,
    model_parser: Annotated[bool, typer.Option("--model-parser/--no-model-parser", help="parse the question with the model first")] = True,
    prompt_every_frame: opts.PromptEveryFrame = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer with its moments as JSON")] = False,
) -> None:
    """Find the moments that answer a question, with evidence (tracks, captions)."""
    from agent.query_answer import QuerySettings
    from agent.query_graph import run_query

    settings = QuerySettings(db=db or default_db_path(), model=model, verify=verify, top_n=top_n,
                             threshold=threshold, model_parser=model_parser, refine_window_s=refine,
                             prompt_every_frame=prompt_every_frame)
    with exit_on_user_error():
        answer = run_query(question, settings)
    for error in answer.errors:
        typer.echo(f"sva: {error}", err=True)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    typer.echo(answer.answer)
    for m in answer.moments:
        ev = m.evidence[0] if m.evidence else None
        what = (ev.phrase or ev.caption or "") if ev else ""
        typer.echo(f"  {m.score:.2f}  {m.video_path}  {m.start_s:.1f}-{m.end_s:.1f} s  {what[:60]}")
