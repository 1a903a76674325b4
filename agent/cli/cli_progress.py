"""Progress bars for `sva index`: one for the batch (chunks, with ETA) and one for the current video.

Drawn on stderr, and only on a terminal; a line per finished video is printed either way so logs and
pipelines see what happened.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from agent.indexing.index_report import VideoReport


class BarProgress:
    def __init__(self, videos_total: int):
        self.console = Console(stderr=True)
        self.bars = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TimeElapsedColumn(), console=self.console, disable=not self.console.is_terminal,
        )
        self.batch = self.bars.add_task(f"videos (0/{videos_total})", total=videos_total)
        self.videos_total = videos_total
        self.videos_seen = 0
        self.video_task = None

    def __enter__(self) -> "BarProgress":
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def video_started(self, path: str, chunks_total: int, chunks_pending: int, duration_s: float) -> None:
        if self.video_task is not None:
            self.bars.remove_task(self.video_task)
        self.video_task = self.bars.add_task(f"  {Path(path).name} chunks", total=chunks_pending)

    def chunk_finished(self, path: str, chunk_index: int, end_s: float, ok: bool) -> None:
        if self.video_task is not None:
            self.bars.advance(self.video_task)

    def video_finished(self, report: VideoReport) -> None:
        self.videos_seen += 1
        self.bars.update(self.batch, advance=1, description=f"videos ({self.videos_seen}/{self.videos_total})")
        line = {
            "indexed": f"indexed {report.path}: {report.chunks_done} chunk(s)",
            "unchanged": f"unchanged {report.path}: already indexed",
            "partial": f"sva: {report.path}: {report.error}",
            "failed": f"sva: {report.error}",
        }[report.outcome]
        self.bars.console.print(line, markup=False, highlight=False) if self.console.is_terminal else typer.echo(line, err=True)
