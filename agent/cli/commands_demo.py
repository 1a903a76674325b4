"""`sva demo`: a fresh synthetic video, indexed and queried with the shipped tiny Sa2VA, next to the truth."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.app import app
from agent.cli.cli_errors import exit_on_user_error


@app.command("demo")
def demo(
    seed: Annotated[Optional[int], typer.Option(help="world seed (default: a new one each run; printed)")] = None,
    workdir: Annotated[Optional[Path], typer.Option(help="where the video, its ground truth and the index go (default: a temp dir)")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="checkpoint (default: the demo model shipped in the package)")] = None,
    duration: Annotated[float, typer.Option(min=5.0, help="video length, seconds")] = 20.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Generate a synthetic video, index it, answer "find every moment the red ball jumps", compare with the truth."""
    from agent.demo.demo_run import UNSEEN_SEEDS, run_demo, side_by_side

    seed = seed if seed is not None else UNSEEN_SEEDS + random.randrange(10**6)
    with exit_on_user_error():
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="sva-demo-"))
        result = run_demo(workdir, seed, model=model, duration_s=duration)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"video: {result.video} (seed {seed}; ground truth next to it as .json)")
    for line in side_by_side(result):
        typer.echo(line)
