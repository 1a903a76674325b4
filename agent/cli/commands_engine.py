"""`sva chat VIDEO "..."` and `sva track VIDEO "expression" --out overlay.mp4`: the model on one video, no index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error
from agent.cli import cli_index_options as opts
from agent.cli.cli_index_options import PromptEveryFrame
from agent.cli.commands_index import ModelOption
from agent.query.query_parse import checked_question

StartOption = Annotated[float, typer.Option("--start", min=0.0, help="window start, seconds")]
EndOption = Annotated[Optional[float], typer.Option("--end", min=0.0, help="window end, seconds (default: the end)")]


def _window(start: float, end: float | None) -> None:
    if end is not None and end <= start:
        typer.echo(f"sva: --end ({end:g}) must be after --start ({start:g})", err=True)
        raise typer.Exit(2)


@app.command("chat")
def chat(
    video: Annotated[Path, typer.Argument(help="a video or image file", show_default=False)],
    question: Annotated[str, typer.Argument(help="what to ask about it", show_default=False)],
    start: StartOption = 0.0,
    end: EndOption = None,
    model: ModelOption = None,
    revision: opts.Revision = None,
    dtype: opts.Dtype = None,
    sample_fps: Annotated[float, typer.Option(min=0.001, help="frames per second decoded before picking 5")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
) -> None:
    """Ask Sa2VA about a video (five frames spread over the window)."""
    from tools.clip import decode_clip
    from tools.engine_session import load_engine, model_name
    from tools.sa2va_chat import ChatRequest, chat_about_clip

    _window(start, end)
    with exit_on_user_error():
        question = checked_question(question)  # the bound every question meets (agent/query/query_parse.py)
        clip = decode_clip(video, start, end, sample_fps=sample_fps)
        reply = chat_about_clip(load_engine(model_name(model, revision), dtype=dtype), ChatRequest(question=question, clip=clip))
    typer.echo(json.dumps({"video": str(video), **reply.model_dump()}) if as_json else reply.text)


@app.command("track")
def track(
    video: Annotated[Path, typer.Argument(help="a video file", show_default=False)],
    expressions: Annotated[list[str], typer.Argument(help='what to track, e.g. "the dog" (several allowed)', show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="overlay video to write (.mp4, H.264)")],
    start: StartOption = 0.0,
    end: EndOption = None,
    model: ModelOption = None,
    revision: opts.Revision = None,
    dtype: opts.Dtype = None,
    fps: Annotated[float, typer.Option(min=0.1, help="frames per second tracked and written")] = 5.0,
    max_side: Annotated[int, typer.Option(min=32, help="long side of the frames, pixels")] = 1024,
    prompt_every_frame: PromptEveryFrame = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the masklets (boxes, scores, RLE masks) as JSON")] = False,
) -> None:
    """Track expressions through a video and write the masks drawn on it."""
    from tools.engine_session import load_engine, model_name
    from tools.overlay_video import write_overlay_video
    from tools.sa2va_track import track_stream
    from tools.video_decode import decode_frames
    from tools.video_prober import probe_video

    _window(start, end)
    with exit_on_user_error():
        expressions = [checked_question(e) for e in expressions]
        probe = probe_video(video)

        def frames():  # decoded twice (track, then draw) so a long video is never held in memory
            return decode_frames(video, sample_fps=fps, max_side=max_side, start_s=start, end_s=end, probe=probe)

        engine = load_engine(model_name(model, revision), dtype=dtype)
        reply = track_stream(engine, frames(), expressions, prompt_every_frame=prompt_every_frame)
        written = write_overlay_video(frames(), reply.masklets, out, fps=fps)
    if as_json:
        typer.echo(json.dumps({"overlay": written.model_dump(), "masklets": [m.model_dump() for m in reply.masklets]}))
        return
    for m in reply.masklets:
        typer.echo(f"{m.expression}: present on {len(m.present_times())} of {len(m.points)} frames")
    typer.echo(f"wrote {written.path} ({written.frames} frames, {written.duration_s:.1f} s)")
