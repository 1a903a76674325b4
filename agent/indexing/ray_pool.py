"""A pool of engine actors on Ray that analyses chunks and hands each result back to the caller (the one
writer process).

Dispatch: each actor has at most one chunk in flight; the rest wait here, in submission order. Queuing in
the driver rather than in each actor's mailbox means a slow or restarting actor holds up one chunk, not a
queue of them, and chunks go to whichever actor frees up first.

Failures, in layers:
- a chunk's own failure (model error, bad frames) is not an exception: it comes back as `ChunkWork.error`;
- the actor's process dies (killed, OOM, segfault): Ray restarts it (`max_restarts`) and reruns the chunk
  it was working on (`max_task_retries`); the caller sees nothing but a later result;
- past that (or an object lost with its node), the pool replaces the actor with a fresh one and puts the
  chunk back at the head of the queue, up to `task_attempts` times; then the chunk comes back failed, with
  the one-line reason, and the next run retries it.
Nothing is written by an actor, so a death at any moment loses no committed chunk and commits nothing twice.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.indexing.chunk_analyser import ChunkWork, chunk_error
from agent.indexing.index_settings import IndexSettings
from agent.indexing.ray_options import RayOptions
from agent.indexing.ray_worker import EngineWorker
from tools.video_chunks import Chunk
from tools.video_probe import VideoProbe


@dataclass
class ChunkTask:
    """One chunk to analyse; `key` is the caller's (e.g. (video position, chunk index))."""

    key: Any
    path: str
    probe: VideoProbe
    chunk: Chunk
    last_index: int
    attempts: int = 0


class EnginePool:
    """Started on first use (`start`), so a run with nothing to analyse never starts Ray."""

    def __init__(self, options: RayOptions, settings: IndexSettings):
        self.options = options
        self.settings = settings
        self._ray = None
        self._owns_ray = False
        self._actor_class = None
        self._torch_threads: int | None = None
        self._actors: list[Any] = []
        self._idle: deque[Any] = deque()
        self._queue: deque[ChunkTask] = deque()
        self._in_flight: dict[Any, tuple[Any, ChunkTask]] = {}
        self._pids: dict[int, int] = {}  # id(actor handle) -> pid of its process, as last reported
        self.replaced = 0  # actors the pool had to replace itself (Ray's own restarts are not counted)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._ray is not None

    def start(self) -> None:
        if self.started:
            return
        import ray

        o = self.options
        if not ray.is_initialized():
            if o.address:
                ray.init(address=o.address, logging_level=logging.ERROR, log_to_driver=False)
            else:
                ray.init(num_cpus=o.local_cpus or os.cpu_count() or 1, include_dashboard=False,
                         logging_level=logging.ERROR, log_to_driver=False)
            self._owns_ray = True
        self._ray = ray
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        on_gpu = gpus > 0 and (self.settings.device is None or self.settings.device.startswith("cuda"))
        workers = o.workers or (gpus if on_gpu else max(1, int(resources.get("CPU", 1)) // o.cpus_per_worker))
        self._torch_threads = None if on_gpu else o.cpus_per_worker
        self._actor_class = ray.remote(EngineWorker).options(
            num_cpus=o.cpus_per_worker, num_gpus=1 if on_gpu else 0, max_restarts=o.max_restarts,
            max_task_retries=o.max_task_retries,
        )
        for _ in range(workers):
            self._add_actor()

    def close(self) -> None:
        if not self.started:
            return
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        self._actors.clear()
        self._idle.clear()
        self._in_flight.clear()
        self._queue.clear()
        if self._owns_ray:
            self._ray.shutdown()
        self._ray = None

    def _add_actor(self) -> Any:
        actor = self._actor_class.remote(self.settings, self._torch_threads)
        self._actors.append(actor)
        self._idle.append(actor)
        return actor

    # -- work --------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self._actors)

    def pending(self) -> int:
        """Chunks submitted whose result has not been handed back yet."""
        return len(self._queue) + len(self._in_flight)

    def submit(self, task: ChunkTask) -> None:
        self.start()
        self._queue.append(task)
        self._dispatch()

    def drop(self, keep: Callable[[ChunkTask], bool]) -> None:
        """Forget queued chunks for which `keep` is False (their video failed); in-flight ones still return."""
        self._queue = deque(t for t in self._queue if keep(t))

    def next_result(self) -> tuple[Any, ChunkWork]:
        """Block until some chunk is done: (its key, its work). Raises RuntimeError when nothing is pending."""
        ray = self._ray
        while True:
            self._dispatch()
            if not self._in_flight:
                raise RuntimeError("no chunk is pending")
            ready, _ = ray.wait(list(self._in_flight), num_returns=1)
            actor, task = self._in_flight.pop(ready[0])
            try:
                work = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:
                # `analyse` returns chunk failures; an exception here is a worker bug: fail the chunk, go on.
                self._idle.append(actor)
                self._dispatch()
                return task.key, ChunkWork(chunk=task.chunk, error=chunk_error(task.chunk, "worker", exc.cause or exc))
            except ray.exceptions.RayError as exc:
                # The actor is gone for good (or lost the result with its node): a fresh one takes its place.
                self._replace(actor)
                task.attempts += 1
                if task.attempts >= self.options.task_attempts:
                    return task.key, ChunkWork(chunk=task.chunk, error=chunk_error(task.chunk, "worker", exc))
                self._queue.appendleft(task)
                continue
            if work.worker_pid is not None:
                self._pids[id(actor)] = work.worker_pid
            self._idle.append(actor)
            self._dispatch()  # keep every actor busy while the caller commits
            return task.key, work

    def _dispatch(self) -> None:
        while self._idle and self._queue:
            actor, task = self._idle.popleft(), self._queue.popleft()
            ref = actor.analyse.remote(task.path, task.probe, task.chunk, task.last_index)
            self._in_flight[ref] = (actor, task)

    def _replace(self, actor: Any) -> None:
        self._ray.kill(actor, no_restart=True)
        self._actors.remove(actor)
        self._pids.pop(id(actor), None)
        self.replaced += 1
        self._add_actor()

    # -- for tests and benchmarks ------------------------------------------------------------
    def worker_pids(self) -> list[int]:
        """Process id of each actor (asks them, so a busy actor answers after its chunk)."""
        return self._ray.get([a.pid.remote() for a in self._actors])

    def busy_pids(self) -> list[int]:
        """Processes working on a chunk right now, among those that have returned a result before."""
        return [self._pids[id(a)] for a, _ in self._in_flight.values() if id(a) in self._pids]
