"""`sva probe PATH...`: what the video tools see in each file; one bad file never stops the others.

Exit codes: 0 all files usable, 1 some failed (each named on stderr), 2 all failed.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer

from agent.cli.app import app
from agent.cli.cli_errors import report
from sa2va_engine.user_error import UserError


@app.command()
def probe(
    paths: Annotated[list[str], typer.Argument(help="videos or images", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of probes on stdout")] = False,
    count_frames: Annotated[bool, typer.Option("--count-frames", help="count frames where the file does not say")] = False,
    decode: Annotated[bool, typer.Option("--decode", help="also decode (sampled) to find damage; slower")] = False,
    sample_fps: Annotated[float, typer.Option(min=0.001, help="frames per second sampled by --decode")] = 2.0,
) -> None:
    """Duration, frame rates, size, rotation, codec and audio of each file."""
    from tools.video_decode import decode_frames
    from tools.video_prober import probe_video

    # Decode warnings are printed below as `sva: ...` lines; keep logging's fallback from repeating them.
    video_log = logging.getLogger("sva.video")
    if not video_log.handlers:
        video_log.addHandler(logging.NullHandler())

    good: list[dict[str, object]] = []
    failed = 0
    for path in paths:
        try:
            found = probe_video(path, count_frames=count_frames)
            facts: dict[str, object] = found.model_dump()
            line = found.summary()
            if decode:
                stream = decode_frames(path, sample_fps=sample_fps, max_side=256, probe=found)
                for _ in stream:
                    pass
                facts["decoded_frames"] = stream.frames_decoded
                facts["last_frame_s"] = stream.last_time_s
                facts["warnings"] = stream.warnings
                line += f"; decoded {stream.frames_decoded} frames at {sample_fps:g} fps"
                for warning in stream.warnings:
                    typer.echo(f"sva: {path}: warning: {warning}", err=True)
        except UserError as exc:
            failed += 1
            report(exc)
            continue
        good.append(facts)
        if not as_json:
            typer.echo(line)
    if as_json:
        typer.echo(json.dumps(good, indent=2))
    if failed:
        raise typer.Exit(2 if failed == len(paths) else 1)
