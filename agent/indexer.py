"""`sva index`'s batch: expand the inputs, run the indexing graph on each video, one job row for the run.

One bad video never stops the batch: it is recorded as failed (with its one-line error) and the next video
goes on. The engine is loaded once, on the first chunk that needs it, so re-running over an indexed library
never loads a model.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from agent.index_graph import VideoIndexer
from agent.index_report import IndexProgress, IndexReport, SilentProgress, VideoReport
from agent.index_settings import IndexSettings
from index.writer import IndexWriter
from sa2va_engine.sa2va import Sa2VA
from tools.engine_session import load_engine

VIDEO_SUFFIXES = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .ts .mts .m2ts .mpg .mpeg .wmv .flv .3gp .ogv".split()
)


def expand_inputs(inputs: Sequence[str]) -> tuple[list[Path], list[VideoReport]]:
    """Files as given, folders searched recursively for video files, globs expanded; each input that names
    nothing becomes a failed report. Order is kept and duplicates dropped."""
    found: list[Path] = []
    missing: list[VideoReport] = []
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES))
        elif path.exists():
            found.append(path)
        elif glob.has_magic(raw):
            matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True) if Path(m).is_file())
            if not matches:
                missing.append(VideoReport(path=raw, outcome="failed", error=f"{raw}: no file matches this pattern"))
            found.extend(matches)
        else:
            missing.append(VideoReport(path=raw, outcome="failed", error=f"{raw}: no such file or folder"))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


def run_index(inputs: Sequence[str], settings: IndexSettings, progress: IndexProgress | None = None,
              engine: Sa2VA | None = None, command: str = "sva index") -> IndexReport:
    progress = progress or SilentProgress()
    videos, missing = expand_inputs(inputs)
    for report in missing:
        progress.video_finished(report)
    if not videos:
        return IndexReport(job_id=None, videos=missing)

    writer = IndexWriter(settings.db)
    loaded: list[Sa2VA] = [engine] if engine is not None else []

    def get_engine() -> Sa2VA:
        if not loaded:
            loaded.append(load_engine(settings.model, settings.device))
        return loaded[0]

    job_id = writer.start_job(command, videos_total=len(videos))
    indexer = VideoIndexer(settings, writer, get_engine, progress, job_id)
    reports = list(missing)
    try:
        for video in videos:
            reports.append(indexer.run(str(video)))
    except BaseException as exc:
        writer.finish_job(job_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                          error=(str(exc).splitlines() or [type(exc).__name__])[0])
        raise
    failed = [r for r in reports if r.outcome in ("failed", "partial")]
    status = "done" if not failed else ("failed" if len(failed) == len(reports) else "partial")
    writer.finish_job(job_id, status, error="; ".join(r.error or r.path for r in failed)[:2000] or None)
    return IndexReport(job_id=job_id, videos=reports)
