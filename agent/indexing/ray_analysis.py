"""`sva index --ray`: where the index graph's chunk analysis runs when it runs on a pool of Ray engine actors.

The graph (`agent/indexing/index_graph.py`) stays the one driver: it plans each video, takes its chunks in
order, links, commits and reports them with the same nodes as a single-process run. Only its analysis node
changes: instead of captioning, grounding and tracking here, it takes the chunk's `ChunkWork` from this
module, which an actor computed with the same `ChunkAnalyser` (`ray_worker.py`). So the index ends in the
same rows (`tests/test_ray_index.py` compares whole DBs, also after a worker is killed mid-run). Text vectors
are equal too as long as this process embeds with the torch thread count the single process would (both use
torch's default unless told otherwise): MiniLM's vectors differ in the last bits with it.

To keep the pool busy, this module looks ahead of the graph: while fewer than `window` chunks are submitted
but not yet taken, it plans the next videos of the run (`ChunkCommitter.plan`, the graph's own plan step, only
earlier) and submits their pending chunks; the graph's plan node then gets the video already planned.
Results arrive in any order and wait here until the graph asks for them, video by video, chunk by chunk, so
the index sees commits in the single-process order. Order matters beyond links: a text said in two chunks
keeps the vector of the first commit, and vectors of one text embedded in different batches differ in the
last bits. Videos are planned lazily, so a huge batch does not probe and hash everything up front and the
buffer of out-of-order results stays small; several videos are in flight at once, which keeps the pool busy
across short videos.

What a worker sends back is the heavy part (masks as RLE per frame, captions); frames stay on the worker.
Descriptions: a worker describes every object (it cannot know the links), and the graph's link node keeps
those of new objects only. That costs one region caption per continued object per chunk; asking a worker to
describe after linking instead would put a round trip to a busy pool between each chunk's link and its
commit, and so serialise each video's commits on it (a long video on many GPUs would wait on that chain).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence

from agent.indexing.chunk_analyser import ChunkWork
from agent.indexing.chunk_committer import PlannedVideo
from agent.indexing.index_report import VideoReport
from agent.indexing.ray_pool import ChunkTask, EnginePool
from agent.indexing.stage_clock import StageClock


class RayAnalysis:
    def __init__(self, pool: EnginePool, plan: Callable[[str], PlannedVideo | VideoReport], clock: StageClock,
                 window: int | None = None):
        """``plan``: the graph's plan step (`ChunkCommitter.plan`). ``clock``: the run's stages; each result adds
        its worker's (decode and model stages, summed over the actors, which run at once)."""
        self.pool = pool
        self._plan = plan
        self.clock = clock
        self._window = window
        self._tasks: Iterator[ChunkTask] = iter(())
        self._planned: deque[tuple[int, str, PlannedVideo | VideoReport]] = deque()  # not yet taken by the graph
        self._todo: dict[int, deque[int]] = {}  # video position -> its pending chunk indices, not yet taken
        self._results: dict[tuple[int, int], ChunkWork] = {}
        self._dropped: set[int] = set()
        self._current: int | None = None

    def expect(self, paths: Sequence[str]) -> None:
        """The videos the graph will plan, in its order (those it indexes; not the unchanged ones)."""
        self._tasks = self._plan_ahead(list(paths))

    def plan(self, path: str) -> PlannedVideo | VideoReport:
        """The graph's plan step for `path`, the next video expected: planned now, or already by the look-ahead."""
        while not self._planned:
            task = next(self._tasks, None)
            if task is None and not self._planned:
                raise RuntimeError(f"{path}: not among the videos this run expects")
            if task is not None:
                self.pool.submit(task)
        position, planned_path, planned = self._planned.popleft()
        assert planned_path == path, f"planned {planned_path}, the graph asks for {path}"
        self._current = position
        return planned

    def next_work(self) -> ChunkWork | None:
        """The analysis of the current video's next pending chunk (None: none left), waiting for it if needed."""
        position = self._current
        todo = self._todo.get(position)
        if not todo:
            return None
        key = (position, todo.popleft())
        while key not in self._results:
            while self._outstanding() < self._window_size():
                task = next(self._tasks, None)
                if task is None:
                    break
                self.pool.submit(task)
            (at, index), work = self.pool.next_result()
            if work.stages is not None:
                self.clock.times.add(work.stages)
            if at not in self._dropped:
                self._results[(at, index)] = work
        return self._results.pop(key)

    def drop_video(self) -> None:
        """The current video failed to decode: the rest of it is not worth analysing."""
        position = self._current
        self._dropped.add(position)
        self._todo.pop(position, None)
        self.pool.drop(lambda t: t.key[0] != position)
        for key in [k for k in self._results if k[0] == position]:
            del self._results[key]

    def _window_size(self) -> int:
        return self._window or (4 * self.pool.size if self.pool.started else 1)

    def _outstanding(self) -> int:
        return self.pool.pending() + len(self._results)

    def _plan_ahead(self, paths: list[str]) -> Iterator[ChunkTask]:
        """Plan videos one after another as chunks are wanted; yield their pending chunks in order."""
        for position, path in enumerate(paths):
            planned = self._plan(path)
            self._planned.append((position, path, planned))
            if isinstance(planned, VideoReport):
                continue
            self._todo[position] = deque(c.index for c in planned.pending)
            for chunk in planned.pending:
                if position in self._dropped:  # the video failed to decode: the rest is not worth analysing
                    break
                yield ChunkTask(key=(position, chunk.index), path=planned.path, probe=planned.probe, chunk=chunk,
                                last_index=planned.last_index)
