"""`sva index --ray`: chunks are analysed on a pool of Ray engine actors; this process is the one writer.

    plan videos in order (probe, plan, begin_video)  ->  submit their pending chunks to the pool
    results arrive in any order  ->  buffered  ->  video by video, chunk by chunk:
        link against the previous chunk's stored tracks, keep descriptions of new objects only, commit

Every step on this side is `ChunkCommitter`'s, the same the single-process graph calls, in the same order, so
the index ends in the same rows (`tests/test_ray_index.py` compares whole DBs, also after a worker is killed
mid-run). Text vectors are equal too as long as this process embeds with the torch thread count the single
process would (both use torch's default unless told otherwise): MiniLM's vectors differ in the last bits with
it. Videos are planned lazily, only while fewer than `window` chunks are submitted
but not yet committed, so a huge batch does not probe and hash everything up front and the buffer of
out-of-order results stays small; several videos are in flight at once, which keeps the pool busy across
short videos.

What a worker sends back is the heavy part (masks as RLE per frame, captions); frames stay on the worker.
Descriptions: a worker describes every object (it cannot know the links), and the ones of continued objects
are dropped here. That costs one region caption per continued object per chunk; asking a worker to
describe after linking instead would put a round trip to a busy pool between each chunk's link and its
commit, and so serialise each video's commits on it (a long video on many GPUs would wait on that chain).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence

from agent.indexing.chunk_analyser import FATAL_ERRORS, ChunkWork, chunk_error
from agent.indexing.index_report import VideoReport
from agent.indexing.ray_pool import ChunkTask, EnginePool
from agent.indexing.stage_clock import StageClock
from agent.indexing.chunk_committer import PlannedVideo, ChunkCommitter


class _VideoRun:
    """A planned video whose chunks are out on the pool."""

    def __init__(self, position: int, video: PlannedVideo):
        self.position = position
        self.video = video
        self.todo = deque(video.pending)  # to commit, in order
        self.results: dict[int, ChunkWork] = {}
        self.done = 0
        self.failed = 0


class RayBatch:
    def __init__(self, videos: ChunkCommitter, pool: EnginePool, window: int | None = None,
                 clock: StageClock | None = None):
        """``clock``: the run's stages; each result adds its worker's (decode and model stages, summed over the
        actors, which run at once), and this process times embed and commit as the graph does."""
        self.videos = videos
        self.pool = pool
        self._window = window
        self.clock = clock or StageClock()

    def run(self, paths: Sequence[str], known: Callable[[str], VideoReport | None]) -> list[VideoReport]:
        """Index `paths` in order; `known(path)` answers a video that needs no planning (unchanged) with its
        report. Returns one report per path, in order."""
        reports: list[VideoReport | None] = [None] * len(paths)
        runs: dict[int, _VideoRun] = {}
        tasks = self._tasks(paths, known, reports, runs)
        exhausted = False
        while True:
            while not exhausted and self._outstanding(runs) < self._window_size():
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                else:
                    self.pool.submit(task)
            if not self.pool.pending():
                break
            (position, _), work = self.pool.next_result()
            if work.stages is not None:
                self.clock.times.add(work.stages)
            run = runs.get(position)
            if run is None:  # its video failed while this chunk was out
                continue
            run.results[work.chunk.index] = work
            # Only the oldest open video commits: the index then sees commits in the single-process order
            # (video by video, chunk by chunk). Order matters beyond links: a text said in two chunks keeps
            # the vector of the first commit, and vectors of one text embedded in different batches differ
            # in the last bits.
            while runs:
                oldest = runs[min(runs)]
                self._commit_ready(oldest, reports, runs)
                if oldest.position in runs:
                    break
        # Videos all of whose chunks were dropped never reach a result; none can remain open here.
        assert not runs, f"videos left open: {sorted(runs)}"
        return [r for r in reports if r is not None]

    def _window_size(self) -> int:
        return self._window or (4 * self.pool.size if self.pool.started else 1)

    def _outstanding(self, runs: dict[int, _VideoRun]) -> int:
        return self.pool.pending() + sum(len(r.results) for r in runs.values())

    def _tasks(self, paths: Sequence[str], known, reports: list, runs: dict[int, _VideoRun]) -> Iterator[ChunkTask]:
        """Plan videos one after another as chunks are wanted; yield their pending chunks in order."""
        for position, path in enumerate(paths):
            report = known(path)
            planned = report if report is not None else self.videos.plan(path)
            if isinstance(planned, VideoReport):
                reports[position] = planned
                continue
            runs[position] = _VideoRun(position, planned)
            for chunk in planned.pending:
                if position not in runs:  # the video failed to decode: the rest of it is not worth analysing
                    break
                yield ChunkTask(key=(position, chunk.index), path=planned.path, probe=planned.probe, chunk=chunk,
                                last_index=planned.last_index)

    def _commit_ready(self, run: _VideoRun, reports: list, runs: dict[int, _VideoRun]) -> None:
        """Commit the run's buffered results that are next in chunk order; close the video when all are in."""
        video = run.video
        while run.todo and run.todo[0].index in run.results:
            work = run.results.pop(run.todo.popleft().index)
            if work.fatal is not None:
                raise work.fatal
            if work.video_error is not None:
                reports[run.position] = self.videos.video_failed(
                    video.path, work.video_error, len(video.chunks), run.done, run.failed, problem=work.video_problem)
                del runs[run.position]
                self.pool.drop(lambda t: t.key[0] != run.position)
                return
            error = work.error or self._link_and_commit(video, work)
            if error is None:
                run.done += 1
            else:
                self.videos.fail(video, work.chunk, error)
                run.failed += 1
        if not run.todo:
            reports[run.position] = self.videos.finish(video, run.done, run.failed)
            del runs[run.position]

    def _link_and_commit(self, video: PlannedVideo, work: ChunkWork) -> str | None:
        """The graph's link and commit nodes for one analysed chunk; the chunk's one-line error if one fails."""
        chunk = work.chunk
        step = "link"
        try:
            linked = self.videos.link(video, chunk, work.masklets)
            descriptions: list[str | None] = []
            for i, link in enumerate(linked.links):
                if link is None and work.describe_errors[i] is not None:
                    # The graph describes new objects in its link step, and would have failed on this one.
                    return work.describe_errors[i]
                descriptions.append(work.descriptions[i] if link is None else None)
            step = "commit"
            times = self.clock.times
            embedded_before = times.seconds["embed"]
            with self.clock.stage("commit"):
                self.videos.commit(video, chunk, work.caption, work.grounded_caption, linked, descriptions)
            # The writer embeds inside its commit; that time is the embed stage's, not the transaction's.
            times.seconds["commit"] -= times.seconds["embed"] - embedded_before
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded on the chunk, retried next run
            return chunk_error(chunk, step, exc)
        return None

