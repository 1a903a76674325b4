"""`sva doctor`: what this installation runs on, so a bug report can start from facts."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

import typer

from agent.cli import app
from sa2va_engine.user_error import UserError


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
    try:
        binary = find_ffmpeg()
    except UserError as exc:
        typer.echo(f"sva: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(f"ffmpeg: {binary.ffmpeg}")
    typer.echo(f"ffmpeg version: {binary.version} (from {binary.source})")
    typer.echo(f"ffprobe: {binary.ffprobe or 'none; probing parses `ffmpeg -i` output'}")
    for package in ("torch", "transformers", "sam2", "ffmpeg-python", "imageio-ffmpeg", "numpy"):
        typer.echo(f"{package}: {_package_version(package)}")
