"""`sva doctor`: what this installation runs on, so a bug report can start from facts."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

import typer

from agent.cli import app
from agent.cli_errors import exit_on_user_error


def _package_version(name: str) -> str:
    # Metadata only: importing torch just to print its version would cost seconds.
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@app.command()
def doctor() -> None:
    """Report which ffmpeg (and ffprobe) the video tools use, and the Python and package versions."""
    from tools.ffmpeg_binary import find_ffmpeg

    typer.echo(f"python: {platform.python_version()} ({sys.executable})")
    with exit_on_user_error():
        binary = find_ffmpeg()
    typer.echo(f"ffmpeg: {binary.ffmpeg}")
    typer.echo(f"ffmpeg version: {binary.version} (from {binary.source})")
    typer.echo(f"ffprobe: {binary.ffprobe or 'none; probing parses `ffmpeg -i` output'}")
    for package in ("torch", "transformers", "sam2", "ffmpeg-python", "imageio-ffmpeg", "numpy"):
        typer.echo(f"{package}: {_package_version(package)}")
