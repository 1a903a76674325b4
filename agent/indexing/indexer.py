"""`sva index`'s batch: expand the inputs, index each video, one job row for the run.

One bad video never stops the batch: it is recorded as failed (with its one-line error) and the next video
goes on. The engine is loaded once, on the first chunk that needs it, so re-running over an indexed library
never loads a model. Videos run through the one index graph (`VideoIndexer`), whose chunk analysis runs in this
process or, with `ray=` (or `pool=`), on a pool of Ray engine actors, this process staying the only writer;
both write the same rows.

A run holds the index's indexer lock from start to end (`agent/indexing/index_lock.py`): a second indexer on the
same DB fails at once with a one-line message (exit 2) instead of redoing the same chunks.

Unchanged videos are answered before probing: a file whose size and mtime match a `done` video whose stored
chunk spans are what these settings would plan is reported `unchanged` from one read of the index, which is
what the writer's `begin_video` would conclude after a probe (and, with --scene-cuts, a decode pass). So a
scheduled run over a big, mostly indexed folder costs one query, not a probe per file. With --scene-cuts
the spans cannot be predicted without decoding, so those videos take the full path.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agent.indexing.chunk_committer import plan_spans
from agent.indexing.index_graph import VideoIndexer
from agent.indexing.index_lock import hold_lock
from agent.indexing.index_report import IndexProgress, IndexReport, Rebuilt, SilentProgress, VideoReport
from agent.indexing.index_settings import IndexSettings
from agent.indexing.ray_options import RayOptions
from agent.indexing.stage_clock import StageClock, TimedEmbedder
from index.connection import open_read
from index.embedder import RememberingEmbedder, default_embedder
from index.errors import IndexCorrupt, IndexNotFound
from index.set_aside import operator_rows, put_operator_rows, set_aside
from index.writer import IndexWriter
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.user_error import UserError
from tools.engine_session import CheckpointIdentity, checkpoint_identity, load_engine, model_name
from tools.video_probe import VideoProbe

if TYPE_CHECKING:
    from agent.indexing.ray_pool import EnginePool

# How long the writer's connection stays open with no chunk to commit (a reader never waits for it: the writer
# steps aside when one asks); past it the WAL is checkpointed into the file.
WRITER_LINGER_S = 5.0

VIDEO_SUFFIXES = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .ts .mts .m2ts .mpg .mpeg .wmv .flv .3gp .ogv".split()
)

_DONE_VIDEOS = (
    "SELECT v.path, v.size_bytes, v.mtime_ns, v.duration_s, list(c.start_s ORDER BY c.chunk_index), "
    "list(c.end_s ORDER BY c.chunk_index) FROM videos v JOIN chunks c ON c.video_id = v.video_id "
    "WHERE v.status = 'done' AND v.path IN (SELECT unnest(?::VARCHAR[])) "
    "GROUP BY v.path, v.size_bytes, v.mtime_ns, v.duration_s"
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


def unchanged_videos(settings: IndexSettings, videos: Sequence[Path]) -> dict[str, int]:
    """Canonical path -> chunk count of each video that is indexed, unchanged on disk and planned as these
    settings would plan it (see the module docstring). Empty with --scene-cuts or without an index."""
    if settings.scene_cuts or not settings.db.exists() or not videos:
        return {}
    with open_read(settings.db) as con:
        rows = con.execute(_DONE_VIDEOS, [[str(v) for v in videos]]).fetchall()
    out: dict[str, int] = {}
    for path, size, mtime_ns, duration_s, starts, ends in rows:
        try:
            stat = Path(path).stat()
        except OSError:
            continue
        if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
            continue
        spans = [(c.start_s, c.end_s) for c in plan_spans(_probe_of_duration(path, duration_s or 0.0), settings)]
        if spans == list(zip(starts, ends)):
            out[path] = len(spans)
    return out


def _needs_model(settings: IndexSettings, videos: Sequence[Path], rebuild: bool = False) -> bool:
    """Whether this run will analyse anything: a step that uses the model is on and some video is not
    indexed unchanged (an unchanged library loads no model; a rebuild analyses every video)."""
    steps = settings.caption or settings.ground or settings.describe or (settings.track and settings.watch)
    return bool(steps) and (rebuild or len(unchanged_videos(settings, videos)) < len(videos))


def _probe_of_duration(path: str, duration_s: float) -> VideoProbe:
    """What chunk planning reads from a probe (the duration; an image plans as a zero-length video does)."""
    return VideoProbe(path=path, container="", codec="", video_stream=0, width=1, height=1, duration_s=duration_s,
                      avg_fps=None, real_fps=None, has_audio=False)


def run_index(inputs: Sequence[str], settings: IndexSettings, progress: IndexProgress | None = None,
              engine: Sa2VA | None = None, command: str = "sva index", ray: RayOptions | None = None,
              pool: "EnginePool | None" = None, rebuild: Callable[[Rebuilt], None] | None = None) -> IndexReport:
    """Index `inputs` (files, folders, globs) into `settings.db`.

    `engine`: an engine already loaded (tests). `ray`: analyse on a pool of Ray actors made for this run;
    `pool`: on this pool instead (the caller keeps and closes it: tests use it to kill a worker mid-run).
    `rebuild`: start from a new file, the old one (damaged or not) set aside with the operator's rows carried
    over; called with what was done before any video is indexed. Raises `IndexerRunning` when another indexer
    holds the DB."""
    progress = progress or SilentProgress()
    videos, missing = expand_inputs(inputs)
    for report in missing:
        progress.video_finished(report)
    if not videos:
        return IndexReport(job_id=None, videos=missing)
    if engine is None and ray is None and pool is None and _needs_model(settings, videos, rebuild is not None):
        # Before anything is written: a model that cannot load (no network, wrong id, out of memory) must not
        # leave a job, a video stuck "indexing" or a fresh index file behind.
        engine = load_engine(settings.model, settings.device, settings.dtype)
    with hold_lock(settings.db, "indexer", command):
        if rebuild is not None:
            rebuild(start_over(settings.db))
        return _run_locked(videos, missing, settings, progress, engine, command, ray, pool)


def listed_videos(db: Path) -> list[str]:
    """The paths of the videos the index at `db` lists, to index them again (`sva index --rebuild` without paths)."""
    if not Path(db).exists():
        raise IndexNotFound(f"no index at {db} to rebuild; name the videos or folders to index")
    try:
        with open_read(db) as con:
            return [r[0] for r in con.execute("SELECT path FROM videos ORDER BY path").fetchall()]
    except IndexCorrupt:
        raise IndexCorrupt(f"{db}: not a readable sva index, so the videos it held cannot be listed; name them: "
                           f"`sva index --rebuild FOLDER... --db {db}`") from None


def start_over(db: Path) -> Rebuilt:
    """Set the index file aside and begin a new one holding only the operator's rows of the old (if readable)."""
    kept = operator_rows(db) if db.exists() else {}
    aside = set_aside(db, "before-rebuild")
    carried = put_operator_rows(db, kept) if kept else (0 if kept is not None else None)
    return Rebuilt(set_aside=str(aside) if aside else None, operator_rows=carried)


def _run_locked(videos: list[Path], missing: list[VideoReport], settings: IndexSettings, progress: IndexProgress,
                engine: Sa2VA | None, command: str, ray: RayOptions | None, pool: "EnginePool | None") -> IndexReport:
    clock = StageClock()
    # The writer embeds inside commit_chunk: its embedder is timed as the `embed` stage (loaded on first use), and
    # a text seen before in the run (a label, a watched expression) is not embedded again.
    # The writer keeps its connection between chunks (opening the file costs ~15 ms of CPU, twice a chunk) and
    # lets go within ~50 ms of anyone else asking for the file (index/write_session.py).
    writer = IndexWriter(settings.db, embedder=TimedEmbedder(lambda: RememberingEmbedder(default_embedder()), clock),
                         linger_s=WRITER_LINGER_S)
    unchanged = unchanged_videos(settings, videos)

    def known(path: str) -> VideoReport | None:
        if path not in unchanged:
            return None
        report = VideoReport(path=path, outcome="unchanged", chunks_total=unchanged[path])
        progress.video_finished(report)
        return report

    identity = _identity(settings, engine, on_ray=ray is not None or pool is not None)
    job_id = writer.start_job(command, videos_total=len(videos), model=identity.model,
                              model_revision=identity.revision, weights_sha256=identity.weights_sha256)
    reports = list(missing)
    own_pool = None
    try:
        if ray is not None and pool is None:
            from agent.indexing.ray_pool import EnginePool

            pool = own_pool = EnginePool(ray, settings)
        indexer = _video_indexer(settings, writer, progress, engine, job_id, clock, pool)
        reports += indexer.run_all([str(v) for v in videos], known, skip=lambda path: path in unchanged)
        local = None
        if pool is not None:
            # The second tracking pass runs here, once the actors are gone (their model held the memory): it needs
            # each video's objects, and it stores the same rows as a run without Ray.
            if own_pool is not None:
                own_pool.close()
                own_pool = None
            local = _LazyEngine(settings, engine)
        pass_errors = indexer.fill_gaps([str(v) for v in videos], local)
    except BaseException as exc:
        try:
            writer.finish_job(job_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                              error=(str(exc).splitlines() or [type(exc).__name__])[0],
                              stages=clock.times.model_dump_json())
            writer.close()
        except UserError:
            pass  # the disk that just failed (say) fails this write too: the run's own error is the one to tell
        raise
    finally:
        if own_pool is not None:
            own_pool.close()
    failed = [r for r in reports if r.outcome in ("failed", "partial")]
    status = "done" if not failed else ("failed" if len(failed) == len(reports) else "partial")
    errors = [r.error or r.path for r in failed] + pass_errors
    writer.finish_job(job_id, status, error="; ".join(errors)[:2000] or None, stages=clock.times.model_dump_json())
    writer.close()
    return IndexReport(job_id=job_id, videos=reports, stages=clock.times)


def _identity(settings: IndexSettings, engine: Sa2VA | None, on_ray: bool) -> CheckpointIdentity:
    """What the job records about its model: the commit and weights hash of the checkpoint it loaded (or its
    Ray actors load from this machine's cache); only the name when no model is needed (an unchanged library)."""
    name = model_name(settings.model)
    if engine is not None and engine.directory is not None:
        return checkpoint_identity(str(engine.directory)).model_copy(update={"model": name})
    return checkpoint_identity(name) if on_ray else CheckpointIdentity(model=name)


def _video_indexer(settings: IndexSettings, writer: IndexWriter, progress: IndexProgress, engine: Sa2VA | None,
                   job_id: int, clock: StageClock, pool: "EnginePool | None") -> VideoIndexer:
    """The one graph that indexes the run's videos: analysing chunks here (the engine loaded when a chunk first
    needs it) or, with `pool`, on its Ray actors (which time their model stages and count their tokens)."""
    if pool is not None:
        return VideoIndexer(settings, writer, _engine_on_the_pool, progress, job_id, clock, pool=pool)
    get_engine = _LazyEngine(settings, engine)
    # Tokens since the engine was loaded: the process's engine (load_engine keeps one) may have generated before.
    clock.tokens = lambda: (get_engine.loaded.generated_tokens - get_engine.tokens_at_load
                            if get_engine.loaded is not None else None)
    return VideoIndexer(settings, writer, get_engine, progress, job_id, clock)


class _LazyEngine:
    """`engine`, or the run's model loaded here the first time it is asked for (a run or a pass with nothing for the
    model loads none); `tokens_at_load`: what the engine had generated when this run took it."""

    def __init__(self, settings: IndexSettings, engine: Sa2VA | None):
        self.settings, self.loaded = settings, engine
        self.tokens_at_load = engine.generated_tokens if engine is not None else 0

    def __call__(self) -> Sa2VA:
        if self.loaded is None:
            self.loaded = load_engine(self.settings.model, self.settings.device, self.settings.dtype)
            self.tokens_at_load = self.loaded.generated_tokens
        return self.loaded


def _engine_on_the_pool() -> Sa2VA:
    raise RuntimeError("chunks of a Ray run are analysed on the pool's actors, not in this process")
