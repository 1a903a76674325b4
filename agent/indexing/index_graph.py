"""The indexing graph for one video, as LangGraph nodes; the one driver of indexing, in this process or on Ray:

    plan -> next_chunk -> caption -> ground -> track -> link -> commit -> next_chunk ... -> finish
    on Ray: plan -> next_chunk (the chunk's analysis, from an actor) -> link -> commit -> next_chunk ...

Where a chunk's analysis runs is the graph's choice: here, node by node (caption, ground, track; new objects
described in `link`), each chunk's frames coming from one streaming decode of the video's pending chunks
(`agent/indexing/chunk_frames.py`), so a long video is never held in memory; or, with a Ray pool, on an actor
that decodes its chunk and runs the same `ChunkAnalyser` steps (`agent/indexing/ray_analysis.py`), whose
`ChunkWork` the `next_chunk` node takes in chunk order. Planning, linking, committing, failing and reporting
are the same nodes either way, calling `ChunkCommitter`, so both ways of indexing write the same rows.

Linking and committing run behind the analysis (`agent/indexing/commit_behind.py`, `IndexSettings.commit_behind`):
the link and commit nodes hand the chunk to one background thread that links and commits chunks in order while
the graph decodes and analyses the next ones. Where the link node must describe the chunk's new objects with the
model, it waits for the commits before it (its link reads them) and links here; the commit still goes behind.
A chunk that fails behind is recorded there, and the video's counts are settled when it finishes.

The DB's chunk status is the source of truth for resume: `plan` asks the writer which chunks are pending and
only those are analysed; linking reads the previous chunk's tracks back, so a resumed run links exactly as
an uninterrupted one. A chunk whose analysis fails is recorded as failed (retried next run) and the video
goes on; a checkpoint that cannot load stops the batch (it would fail every chunk the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import TYPE_CHECKING, TypedDict

from langgraph.graph import END, START, StateGraph

from agent.indexing.chunk_analyser import FATAL_ERRORS, ChunkAnalyser, ChunkWork, Grounding, chunk_error
from agent.indexing.chunk_committer import ChunkCommitter, LinkedChunk, PlannedVideo
from agent.indexing.commit_behind import CommitBehind
from agent.indexing.chunk_frames import decode_chunks
from agent.indexing.decode_ahead import DecodeAhead, decode_ahead
from agent.indexing.index_report import IndexProgress, VideoReport
from agent.indexing.event_parts import name_event_parts
from agent.indexing.object_views import name_object_views
from agent.indexing.gap_fill import fill_gaps
from agent.indexing.index_settings import IndexSettings
from agent.indexing.stage_clock import StageClock
from index.writer import IndexWriter
from sa2va_engine.masklet import Masklet
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.user_error import UserError
from tools.clip import Clip
from tools.video_chunks import ChunkFrames

if TYPE_CHECKING:
    from agent.indexing.ray_pool import EnginePool


class _BehindFailed(Exception):
    """An error that escaped a job behind the analysis (`CommitBehind`): it ends the run, raised by `run` as
    itself, and is never the failure of the chunk whose node happened to hear it."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class VideoState(TypedDict, total=False):
    path: str
    video: PlannedVideo
    current: ChunkFrames | None
    caption: str
    grounding: Grounding  # its `raw` is the grounded caption the chunk stores
    masklets: list[Masklet]
    links: list[int | None]
    descriptions: list[str | None]
    # On Ray: the actor's descriptions of every object and the one-line error of each it failed to describe.
    described: list[str | None] | None
    describe_errors: list[str | None]
    chunk_error: str | None
    done: int
    failed: int
    report: VideoReport


class VideoIndexer:
    """Runs the indexing graph on one video at a time; holds what must not live in graph state (the writer,
    the lazily loaded engine, the open frame stream, the Ray pool's analyses). With `pool`, chunks are analysed
    on its actors (`run_all` lets it look ahead over the run's videos) and `engine` is never called."""

    def __init__(self, settings: IndexSettings, writer: IndexWriter, engine: Callable[[], Sa2VA],
                 progress: IndexProgress, job_id: int | None = None, clock: StageClock | None = None,
                 pool: "EnginePool | None" = None):
        self.settings = settings
        self.clock = clock or StageClock()
        self.videos = ChunkCommitter(settings, writer, progress, job_id)
        self.analyser = ChunkAnalyser(settings, engine)
        self._engine = engine
        self.remote = None
        if pool is not None:
            from agent.indexing.ray_analysis import RayAnalysis

            self.remote = RayAnalysis(pool, self.videos.plan, self.clock)
        self._frames: DecodeAhead[ChunkFrames] | None = None
        # Captions and grounded captions computed in one batch with the current chunk's, for the chunks decoded
        # ahead of it; taken by those chunks' own nodes. A crash loses them with the chunks in flight.
        self._batch: list[ChunkFrames] = []
        self._captions: dict[int, str] = {}
        self._grounds: dict[int, Grounding] = {}
        self._tracks: dict[int, list[Masklet]] = {}
        # Behind the analysis: each chunk's link result (or its one-line error) for its commit job, and how many
        # chunks failed there after the graph had counted them done.
        self._behind = CommitBehind(settings.chunks_behind())
        self._linked: dict[int, tuple[LinkedChunk, list[str | None]] | str] = {}
        self._failed_behind = 0
        self.graph = self._build()

    # -- graph ------------------------------------------------------------------------------
    def _build(self):
        g = StateGraph(VideoState)
        g.add_node("plan", self.plan)
        g.add_node("next_chunk", self.next_chunk)
        for name in ("caption", "ground", "track", "link", "commit"):
            g.add_node(name, _guarded(getattr(self, name)))
        g.add_node("fail_chunk", self.fail_chunk)
        g.add_node("finish", self.finish)

        g.add_edge(START, "plan")
        g.add_conditional_edges("plan", lambda s: END if "report" in s else "next_chunk")
        g.add_conditional_edges("next_chunk", _after_next_chunk)
        for step, following in (("caption", "ground"), ("ground", "track"), ("track", "link"), ("link", "commit")):
            g.add_conditional_edges(step, _or_fail(following))
        g.add_conditional_edges("commit", _or_fail("next_chunk"))
        g.add_edge("fail_chunk", "next_chunk")
        g.add_edge("finish", END)
        return g.compile()

    def run_all(self, paths: list[str], known: Callable[[str], VideoReport | None],
                skip: Callable[[str], bool]) -> list[VideoReport]:
        """Index `paths` in order; `known(path)` answers a video that needs no indexing (unchanged) with its
        report, `skip(path)` says so without reporting (what the Ray look-ahead must not plan)."""
        if self.remote is not None:
            self.remote.expect([p for p in paths if not skip(p)])
        try:
            return [known(path) or self.run(path) for path in paths]
        finally:
            self._behind.close()

    def fill_gaps(self, paths: list[str], engine: Callable[[], Sa2VA] | None = None) -> list[str]:
        """The passes over the run's finished videos, with `engine` (default: the one the chunks were analysed with
        here): the naming of each object on views of its whole track (agent/indexing/object_views.py), so that the
        second tracking pass (agent/indexing/gap_fill.py) looks for each object by that label; the naming again where
        the second pass added to the tracks or merged objects; then the naming of the parts jumps hang on
        (agent/indexing/event_parts.py), which reads the labels. One line per video a pass failed on."""
        if not self.settings.track:
            return []
        errors = []
        if self.settings.name_objects and self.settings.fill_gaps:
            with self.clock.stage("describe"):
                errors += name_object_views(engine or self._engine, self.videos.writer, paths,
                                            self.settings.sample_fps)[1]
        if self.settings.fill_gaps:
            with self.clock.stage("track"):
                errors += fill_gaps(engine or self._engine, self.videos.writer, paths, self.settings)[1]
        if self.settings.name_objects:
            with self.clock.stage("describe"):
                errors += name_object_views(engine or self._engine, self.videos.writer, paths,
                                            self.settings.sample_fps)[1]
                errors += name_event_parts(engine or self._engine, self.videos.writer, paths,
                                           self.settings.sample_fps)[1]
        return errors

    def run(self, path: str) -> VideoReport:
        # Each chunk passes through about eight nodes; the limit only guards against a loop that never ends.
        self._batch, self._captions, self._grounds, self._tracks = [], {}, {}, {}  # chunk indices are per video
        self._linked, self._failed_behind = {}, 0
        try:
            final = self.graph.invoke({"path": path, "done": 0, "failed": 0}, {"recursion_limit": 10**9})
        except _BehindFailed as failed:
            self._behind.close()
            raise failed.error from None
        except BaseException:
            self._behind.close()  # the chunks analysed before the error are still committed
            raise
        finally:
            if self._frames is not None:
                self._frames.close()  # stops the decode-ahead thread and the decoder, also after an error
            self._frames = None
        return final["report"]

    # -- nodes ------------------------------------------------------------------------------
    def plan(self, state: VideoState) -> VideoState:
        """Probe, plan and register the video (one node: `ChunkCommitter.plan` does all three; on Ray the look-ahead
        may have called it already)."""
        planned = (self.remote.plan if self.remote is not None else self.videos.plan)(state["path"])
        if isinstance(planned, VideoReport):
            return {"report": planned}
        if self.remote is not None:
            return {"video": planned}
        self._frames = decode_ahead(
            decode_chunks(planned.path, planned.probe, planned.pending, planned.last_index, self.settings),
            self.settings.decode_ahead)
        return {"video": planned}

    def next_chunk(self, state: VideoState) -> VideoState:
        fresh: VideoState = {"caption": "", "grounding": Grounding(), "masklets": [],
                             "links": [], "descriptions": [], "described": None, "describe_errors": [],
                             "chunk_error": None}
        if self.remote is not None:
            return fresh | self._analysed_remotely(state)
        try:
            with self.clock.stage("decode"):
                current = next(self._frames, None)
        except UserError as exc:  # the file broke part way: what is committed stays, the rest is retried
            video = state["video"]
            return {"current": None, "report": self.videos.video_failed(
                state["path"], exc, len(video.chunks), *self._settled(state))}
        if current is not None:
            self.clock.times.frames += len(current.frames)
        return fresh | {"current": current}

    def _analysed_remotely(self, state: VideoState) -> VideoState:
        """The next chunk's analysis from an actor, as the caption, ground and track nodes would leave it."""
        work: ChunkWork | None = self.remote.next_work()
        if work is None:
            return {"current": None}
        current = ChunkFrames(chunk=work.chunk, frames=[])  # the frames stayed on the actor
        if work.fatal is not None:
            raise work.fatal
        if work.video_error is not None:  # the file broke part way: what is committed stays, the rest is retried
            self.remote.drop_video()
            video = state["video"]
            return {"current": None, "report": self.videos.video_failed(
                state["path"], work.video_error, len(video.chunks), *self._settled(state),
                problem=work.video_problem)}
        if work.error is not None:
            return {"current": current, "chunk_error": work.error}
        return {"current": current, "caption": work.caption, "grounding": Grounding(raw=work.grounded_caption),
                "masklets": work.masklets, "described": work.descriptions, "describe_errors": work.describe_errors}

    def caption(self, state: VideoState) -> VideoState:
        self.clock.times.chunks += 1  # a chunk with frames starts its analysis here
        k = state["current"].chunk.index
        if k not in self._captions:
            # This chunk and the ones already decoded after it, captioned in one batched generation.
            ahead = [c for c in self._frames.ready(self.settings.chunk_batch() - 1) if c.frames]
            self._batch = [state["current"], *ahead]
            with self.clock.stage("caption"):
                captions = _batched_or_alone(self.analyser.captions, state["path"], self._batch)
            self._captions = {c.chunk.index: text for c, text in zip(self._batch, captions)}
        return {"caption": self._captions.pop(k)}

    def ground(self, state: VideoState) -> VideoState:
        k = state["current"].chunk.index
        if k not in self._grounds:
            # The caption's batch from this chunk on (those before it are grounded already), else this one alone.
            batch = ([c for c in self._batch if c.chunk.index >= k]
                     if any(c.chunk.index == k for c in self._batch) else [state["current"]])
            with self.clock.stage("ground"):
                grounds = _batched_or_alone(self.analyser.grounds, state["path"], batch)
            self._grounds = {c.chunk.index: g for c, g in zip(batch, grounds)}
        return {"grounding": self._grounds.pop(k)}

    def track(self, state: VideoState) -> VideoState:
        k = state["current"].chunk.index
        if k not in self._tracks:
            # This chunk and the batch's later chunks grounded with it (their phrases are known): SAM-2 encodes
            # their frames in shared batches. Each chunk's masklets are taken by its own node.
            later = [c for c in self._batch if c.chunk.index > k and c.chunk.index in self._grounds]
            batch = [state["current"], *later]
            groundings = [state["grounding"], *(self._grounds[c.chunk.index] for c in later)]
            with self.clock.stage("track"):
                tracks = _batched_or_alone(lambda clips: self.analyser.tracks(clips, groundings[:len(clips)]),
                                           state["path"], batch)
            with self.clock.stage("describe"):  # naming, like describing, is a region caption
                tracks = self.analyser.names([_clip_of(state["path"], c) for c in batch[:len(tracks)]], tracks)
            self._tracks = {c.chunk.index: masklets for c, masklets in zip(batch, tracks)}
        return {"masklets": self._tracks.pop(k)}

    def link(self, state: VideoState) -> VideoState:
        chunk, masklets = state["current"].chunk, state["masklets"]
        described, errors = state.get("described"), state["describe_errors"]
        if described is not None or not self.settings.describe:
            # No model needed to link this chunk: its link goes behind, before its commit (at once with depth 0).
            video = state["video"]
            self._hand_behind(lambda: self._link_behind(video, chunk, masklets, described, errors))
            return {}
        self._wait_behind()  # linking reads the previous chunk's stored tracks
        linked = self.videos.link(state["video"], chunk, masklets)
        if described is not None:
            kept = _kept_descriptions(linked, described, errors)
            if isinstance(kept, str):
                return {"chunk_error": kept}
            return {"masklets": linked.masklets, "links": linked.links, "descriptions": kept}
        # Only new objects are described (in one batched generation); a continued one keeps the description it
        # got when first seen.
        new = [m for m, link in zip(linked.masklets, linked.links) if link is None]
        with self.clock.stage("describe"):
            described_new = iter(self.analyser.describe_all(state["current"].frames, new))
        descriptions = [None if link is not None else next(described_new) for link in linked.links]
        failed = next((d for d in descriptions if isinstance(d, Exception)), None)
        if failed is not None:
            raise failed  # the chunk fails, as when its first failing object was described alone
        return {"masklets": linked.masklets, "links": linked.links, "descriptions": descriptions}

    def commit(self, state: VideoState) -> VideoState:
        video, chunk = state["video"], state["current"].chunk
        linked = LinkedChunk(masklets=state["masklets"], links=state["links"])
        caption, grounded, descriptions = state["caption"], state["grounding"].raw, state["descriptions"]
        self._hand_behind(lambda: self._commit_behind(video, chunk, caption, grounded, linked, descriptions))
        return {"done": state["done"] + 1}  # settled at the video's end if the commit fails behind

    # -- behind the analysis (the CommitBehind thread in chunk order; the graph's thread with depth 0) --------
    def _link_behind(self, video: PlannedVideo, chunk, masklets: list[Masklet], described: list[str | None] | None,
                     errors: list[str | None]) -> None:
        try:
            linked = self.videos.link(video, chunk, masklets)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - the chunk's failure, recorded by its commit job
            self._linked[chunk.index] = chunk_error(chunk, "link", exc)
            return
        kept = ([None] * len(linked.masklets) if described is None
                else _kept_descriptions(linked, described, errors))
        self._linked[chunk.index] = kept if isinstance(kept, str) else (linked, kept)

    def _commit_behind(self, video: PlannedVideo, chunk, caption: str, grounded: str, linked: LinkedChunk,
                       descriptions: list[str | None]) -> None:
        behind = self._linked.pop(chunk.index, None)  # None: linked in the graph's thread (or nothing to link)
        if isinstance(behind, tuple):
            linked, descriptions = behind
        error = behind if isinstance(behind, str) else None
        if error is None:
            try:
                embedded_before = self.clock.times.seconds["embed"]
                with self.clock.stage("commit"):
                    self.videos.commit(video, chunk, caption, grounded, linked, descriptions)
                # The writer embeds inside its commit; that time is the embed stage's, not the transaction's.
                self.clock.times.seconds["commit"] -= self.clock.times.seconds["embed"] - embedded_before
                return
            except FATAL_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - any data failure is recorded on the chunk
                error = chunk_error(chunk, "commit", exc)
        self.videos.fail(video, chunk, error)
        self._failed_behind += 1

    def _settled(self, state: VideoState) -> tuple[int, int]:
        """(chunks done, chunks failed) of the video once every chunk handed behind is committed or failed."""
        self._wait_behind()
        return state["done"] - self._failed_behind, state["failed"] + self._failed_behind

    def _hand_behind(self, job: Callable[[], None]) -> None:
        try:
            self._behind.submit(job)
        except BaseException as exc:
            raise _BehindFailed(exc) from exc

    def _wait_behind(self) -> None:
        try:
            self._behind.drain()
        except BaseException as exc:
            raise _BehindFailed(exc) from exc

    def fail_chunk(self, state: VideoState) -> VideoState:
        video, chunk, error = state["video"], state["current"].chunk, state["chunk_error"]
        self._hand_behind(lambda: self.videos.fail(video, chunk, error))  # in order with the commits before it
        return {"failed": state["failed"] + 1}

    def finish(self, state: VideoState) -> VideoState:
        return {"report": self.videos.finish(state["video"], *self._settled(state))}


def _kept_descriptions(linked: LinkedChunk, described: list[str | None],
                       errors: list[str | None]) -> list[str | None] | str:
    """On Ray the actor described every object: the new ones' descriptions, or the one-line error of the first new
    one it failed to describe (the chunk fails, as describing it here would)."""
    for link, error in zip(linked.links, errors):
        if link is None and error is not None:
            return error
    return [d if link is None else None for d, link in zip(described, linked.links)]


def _after_next_chunk(state: VideoState) -> str:
    if "report" in state:
        return END
    current = state["current"]
    if current is None:
        return "finish"
    if state.get("chunk_error"):  # the actor's analysis of the chunk failed
        return "fail_chunk"
    if state.get("described") is not None:  # analysed on an actor: on to the steps after the analysis
        return "link"
    # A stretch with no frames (a gap in the recording) is committed empty: nothing to analyse, nothing to retry.
    return "caption" if current.frames else "commit"


def _or_fail(following: str) -> Callable[[VideoState], str]:
    return lambda state: "fail_chunk" if state.get("chunk_error") else following


def _guarded(node: Callable[[VideoState], VideoState]) -> Callable[[VideoState], VideoState]:
    """A failure inside one chunk's analysis becomes that chunk's one-line error instead of ending the batch."""

    @wraps(node)
    def run(state: VideoState) -> VideoState:
        try:
            return node(state)
        except (*FATAL_ERRORS, _BehindFailed):
            raise
        except Exception as exc:  # noqa: BLE001 - any model or data failure is recorded on the chunk
            return {"chunk_error": chunk_error(state["current"].chunk, node.__name__, exc)}

    return run


def _batched_or_alone(step: Callable[[list[Clip]], list], path: str, batch: list[ChunkFrames]) -> list:
    """`step` over the batch's clips; if the batch fails (e.g. out of memory), the first chunk's alone, so a chunk
    fails only for a reason of its own (the others are analysed when their turn comes)."""
    clips = [_clip_of(path, c) for c in batch]
    if len(clips) == 1:
        return step(clips)
    try:
        return step(clips)
    except FATAL_ERRORS:
        raise
    except Exception:  # noqa: BLE001 - retried alone; an error there is the chunk's own
        return step(clips[:1])


def _clip_of(path: str, current: ChunkFrames) -> Clip:
    return Clip(video_path=path, start_s=current.chunk.start_s, end_s=current.chunk.end_s, frames=current.frames)
