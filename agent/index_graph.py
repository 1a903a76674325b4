"""The indexing graph for one video, as LangGraph nodes:

    probe -> plan -> next_chunk -> caption -> ground -> track -> link -> commit -> next_chunk ... -> finish

Each chunk's frames come from one streaming decode of the video (`iter_chunk_frames`), so a long video is
never held in memory. The DB's chunk status is the source of truth for resume: `plan` asks the writer which
chunks are pending and only those are analysed; linking reads the previous chunk's stored tracks back, so
a resumed run links exactly as an uninterrupted one. A chunk whose analysis fails is recorded as failed
(retried next run) and the video goes on; a checkpoint that cannot load stops the batch (it would fail
every chunk the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from agent.index_report import IndexProgress, VideoReport
from agent.index_settings import IndexSettings
from agent.object_links import link_objects
from index.video_plan import VideoFacts, VideoPlan
from index.writer import IndexWriter
from sa2va_engine.errors import CheckpointError, UnsupportedModelError
from sa2va_engine.masklet import Masklet
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.user_error import UserError
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase
from tools.clip import Clip
from tools.sa2va_chat import CHUNK_CAPTION_QUESTION, ChatRequest, chat_about_clip
from tools.sa2va_ground import GroundRequest, ground_clip
from tools.sa2va_region import RegionRequest, describe_region
from tools.sa2va_track import TrackRequest, track_clip
from tools.video_chunks import Chunk, ChunkFrames, iter_chunk_frames, plan_chunks
from tools.video_decode import decode_frames
from tools.video_probe import VideoProbe
from tools.video_prober import probe_video
from tools.video_scenes import detect_scene_cuts


class VideoState(TypedDict, total=False):
    path: str
    probe: VideoProbe
    plan: VideoPlan
    chunks: list[Chunk]
    current: ChunkFrames | None
    caption: str
    grounded_caption: str
    expressions: list[str]
    masklets: list[Masklet]
    links: list[int | None]
    descriptions: list[str | None]
    chunk_error: str | None
    done: int
    failed: int
    report: VideoReport


def _unique(expressions: list[str]) -> list[str]:
    """Phrases in order, each once (case and spacing ignored): the same words would track the same object twice."""
    seen: set[str] = set()
    out = []
    for e in expressions:
        key = " ".join(e.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(e.strip())
    return out


class VideoIndexer:
    """Runs the indexing graph on one video at a time; holds what must not live in graph state (the writer,
    the lazily loaded engine, the open frame stream)."""

    def __init__(self, settings: IndexSettings, writer: IndexWriter, engine: Callable[[], Sa2VA],
                 progress: IndexProgress, job_id: int | None = None):
        self.settings = settings
        self.writer = writer
        self._engine = engine
        self.progress = progress
        self.job_id = job_id
        self._frames: Iterator[ChunkFrames] | None = None
        self.graph = self._build()

    # -- graph ------------------------------------------------------------------------------
    def _build(self):
        g = StateGraph(VideoState)
        g.add_node("probe", self.probe)
        g.add_node("plan", self.plan)
        g.add_node("next_chunk", self.next_chunk)
        for name in ("caption", "ground", "track", "link"):
            g.add_node(name, _guarded(getattr(self, name)))
        g.add_node("commit", _guarded(self.commit))
        g.add_node("fail_chunk", self.fail_chunk)
        g.add_node("finish", self.finish)

        g.add_edge(START, "probe")
        g.add_conditional_edges("probe", lambda s: END if "report" in s else "plan")
        g.add_conditional_edges("plan", lambda s: END if "report" in s else "next_chunk")
        g.add_conditional_edges("next_chunk", _after_next_chunk)
        for step, following in (("caption", "ground"), ("ground", "track"), ("track", "link"), ("link", "commit")):
            g.add_conditional_edges(step, _or_fail(following))
        g.add_conditional_edges("commit", _or_fail("next_chunk"))
        g.add_edge("fail_chunk", "next_chunk")
        g.add_edge("finish", END)
        return g.compile()

    def run(self, path: str) -> VideoReport:
        # Each chunk passes through about eight nodes; the limit only guards against a loop that never ends.
        final = self.graph.invoke({"path": path, "done": 0, "failed": 0}, {"recursion_limit": 10**9})
        self._frames = None
        return final["report"]

    # -- nodes ------------------------------------------------------------------------------
    def probe(self, state: VideoState) -> VideoState:
        try:
            return {"probe": probe_video(state["path"])}
        except UserError as exc:
            return {"report": self._video_failed(state["path"], exc)}

    def plan(self, state: VideoState) -> VideoState:
        s, probe, path = self.settings, state["probe"], state["path"]
        try:
            cuts = detect_scene_cuts(path, probe=probe) if s.scene_cuts and not probe.is_image else None
            chunks = plan_chunks(probe, chunk_s=s.chunk_s, overlap_s=min(s.overlap_s, s.chunk_s / 2),
                                 sample_fps=s.sample_fps, scene_cuts=cuts)
            plan = self.writer.begin_video(path, _facts(probe), [(c.start_s, c.end_s) for c in chunks], self.job_id)
        except UserError as exc:
            return {"report": self._video_failed(path, exc)}
        if not plan.pending_chunks:
            report = VideoReport(path=path, outcome="unchanged", chunks_total=len(chunks))
            self.progress.video_finished(report)
            return {"report": report}
        pending = [chunks[i] for i in plan.pending_chunks]
        self.progress.video_started(path, len(chunks), len(pending), probe.duration_s or 0.0)
        frames = decode_frames(path, sample_fps=s.sample_fps, max_side=s.max_side, start_s=pending[0].start_s,
                               probe=probe)
        self._frames = iter_chunk_frames(frames, pending)
        return {"plan": plan, "chunks": chunks}

    def next_chunk(self, state: VideoState) -> VideoState:
        fresh: VideoState = {"caption": "", "grounded_caption": "", "expressions": [], "masklets": [],
                             "links": [], "descriptions": [], "chunk_error": None}
        try:
            current = next(self._frames, None)
        except UserError as exc:  # the file broke part way: what is committed stays, the rest is retried
            return {"current": None, "report": self._video_failed(state["path"], exc, state)}
        return fresh | {"current": current}

    def caption(self, state: VideoState) -> VideoState:
        if not self.settings.caption or not state["current"].frames:
            return {}
        request = ChatRequest(question=CHUNK_CAPTION_QUESTION, clip=_clip(state), frames=self.settings.key_frames,
                              max_new_tokens=self.settings.max_new_tokens)
        return {"caption": chat_about_clip(self._engine(), request).text}

    def ground(self, state: VideoState) -> VideoState:
        phrases: list[str] = []
        update: VideoState = {}
        if self.settings.ground and state["current"].frames:
            reply = ground_clip(self._engine(), GroundRequest(clip=_clip(state), frames=self.settings.key_frames,
                                                              max_new_tokens=self.settings.max_new_tokens))
            phrases = reply.phrases
            update["grounded_caption"] = reply.raw
        update["expressions"] = _unique(phrases + list(self.settings.watch))
        return update

    def track(self, state: VideoState) -> VideoState:
        expressions = state["expressions"]
        if not expressions:
            return {}
        if not self.settings.track or not state["current"].frames:
            return {"masklets": [Masklet(expression=e, points=[]) for e in expressions]}
        reply = track_clip(self._engine(), TrackRequest(clip=_clip(state), expressions=expressions,
                                                        key_frames=self.settings.key_frames))
        return {"masklets": reply.masklets}

    def link(self, state: VideoState) -> VideoState:
        chunk = state["current"].chunk
        masklets = state["masklets"]
        links: list[int | None] = [None] * len(masklets)
        previous = state["chunks"][chunk.index - 1] if chunk.index > 0 else None
        if previous is not None and masklets and previous.end_s > chunk.start_s:
            overlap = (chunk.start_s, previous.end_s)
            stored = self.writer.chunk_tracks(state["plan"].video_id, previous.index, *overlap)
            links = link_objects(masklets, stored, overlap, self.settings.link_iou)
            # A continued object already has its overlap frames from the previous chunk; keep them once.
            masklets = [
                m if link is None else m.model_copy(update={"points": [p for p in m.points if p.time_s >= previous.end_s]})
                for m, link in zip(masklets, links)
            ]
        descriptions = [self._describe(state, m) if link is None else None for m, link in zip(masklets, links)]
        return {"masklets": masklets, "links": links, "descriptions": descriptions}

    def commit(self, state: VideoState) -> VideoState:
        chunk = state["current"].chunk
        analysis = ChunkAnalysis(
            video_path=state["plan"].path, chunk_index=chunk.index, start_s=chunk.start_s, end_s=chunk.end_s,
            frame_times=chunk.frame_times, caption=state["caption"], grounded_caption=state["grounded_caption"],
            phrases=[GroundedPhrase(phrase=m.expression, masklet=m) for m in state["masklets"]],
        )
        self.writer.commit_chunk(state["plan"].video_id, analysis, state["links"], state["descriptions"], self.job_id)
        self.progress.chunk_finished(state["path"], chunk.index, chunk.end_s, ok=True)
        return {"done": state["done"] + 1}

    def fail_chunk(self, state: VideoState) -> VideoState:
        chunk = state["current"].chunk
        self.writer.mark_chunk_failed(state["plan"].video_id, chunk.index, state["chunk_error"], self.job_id)
        self.progress.chunk_finished(state["path"], chunk.index, chunk.end_s, ok=False)
        return {"failed": state["failed"] + 1}

    def finish(self, state: VideoState) -> VideoState:
        failed = state["failed"]
        report = VideoReport(
            path=state["path"], outcome="partial" if failed else "indexed", chunks_total=len(state["chunks"]),
            chunks_done=state["done"], chunks_failed=failed,
            error=f"{failed} chunk(s) failed; rerun to retry them" if failed else None,
        )
        self.progress.video_finished(report)
        return {"report": report}

    # -- helpers ----------------------------------------------------------------------------
    def _describe(self, state: VideoState, masklet: Masklet) -> str | None:
        present = [p for p in masklet.points if p.present and p.box]
        if not self.settings.describe or not present:
            return None
        best = max(present, key=lambda p: p.area)
        frame = min(state["current"].frames, key=lambda f: abs(f.time_s - best.time_s))
        reply = describe_region(self._engine(), RegionRequest(frame=frame, box=best.box,
                                                               max_new_tokens=min(48, self.settings.max_new_tokens)))
        return reply.text or None

    def _video_failed(self, path: str, exc: UserError, state: VideoState | None = None) -> VideoReport:
        self.writer.mark_video_failed(path, getattr(exc, "problem", str(exc)), self.job_id)
        state = state or {}
        report = VideoReport(path=path, outcome="failed", chunks_total=len(state.get("chunks", [])),
                             chunks_done=state.get("done", 0), chunks_failed=state.get("failed", 0), error=str(exc))
        self.progress.video_finished(report)
        return report


def _after_next_chunk(state: VideoState) -> str:
    if "report" in state:
        return END
    current = state["current"]
    if current is None:
        return "finish"
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
        except (CheckpointError, UnsupportedModelError):
            raise
        except Exception as exc:  # noqa: BLE001 - any model or data failure is recorded on the chunk
            chunk = state["current"].chunk
            first_line = (str(exc).splitlines() or [""])[0]
            return {"chunk_error": f"chunk {chunk.index} ({chunk.start_s:.1f}-{chunk.end_s:.1f} s) "
                                   f"{node.__name__}: {type(exc).__name__}: {first_line}"}

    return run


def _clip(state: VideoState) -> Clip:
    current = state["current"]
    return Clip(video_path=state["path"], start_s=current.chunk.start_s, end_s=current.chunk.end_s,
                frames=current.frames)


def _facts(probe: VideoProbe) -> VideoFacts:
    return VideoFacts(
        duration_s=probe.duration_s or 0.0, fps=probe.avg_fps or probe.real_fps, width=probe.display_width,
        height=probe.display_height,
        extra={"codec": probe.codec, "container": probe.container, "rotation_deg": probe.rotation_deg,
               "has_audio": probe.has_audio},
    )
