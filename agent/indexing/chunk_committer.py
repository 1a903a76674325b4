"""The sequential side of indexing one video, in the one process that writes the index: probe and plan it,
link each analysed chunk to the previous chunk's stored tracks, commit it (or record why it failed), and
report. The index graph's nodes (`agent/indexing/index_graph.py`) call these, in chunk order, wherever the chunk was
analysed (here or on a Ray actor), so both ways of indexing write the same rows.

Linking reads the previous chunk's tracks back from the index (`IndexWriter.chunk_tracks`), so a resumed run,
an uninterrupted one and one whose chunks were analysed out of order on several workers link the same.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from agent.indexing.index_report import IndexProgress, VideoReport
from agent.indexing.index_settings import IndexSettings
from agent.indexing.object_links import REID_GAP_S, link_objects, reidentify, same_object_as
from index.errors import IndexDiskFull
from index.object_ids import new_object_id
from index.video_plan import VideoFacts, VideoPlan
from index.writer import IndexWriter
from sa2va_engine.masklet import SAME_FRAME_S, Masklet
from sa2va_engine.user_error import UserError
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase
from tools.video_chunks import Chunk, plan_chunks
from tools.video_probe import VideoProbe
from tools.video_prober import probe_video
from tools.video_scenes import detect_scene_cuts


class PlannedVideo(BaseModel):
    """A video registered in the index with chunks left to analyse. `chunks` is the whole plan (seconds),
    `pending` the chunks still to do, ascending."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    probe: VideoProbe
    plan: VideoPlan
    chunks: list[Chunk]

    @property
    def pending(self) -> list[Chunk]:
        return [self.chunks[i] for i in self.plan.pending_chunks]

    @property
    def last_index(self) -> int:
        return len(self.chunks) - 1


class LinkedChunk(BaseModel):
    """A chunk's masklets after linking: `links[i]` is the stored object masklet i continues (None: new); a
    continued masklet has lost its overlap points, which the previous chunk already stored."""

    masklets: list[Masklet]
    links: list[int | None]


def plan_spans(probe: VideoProbe, settings: IndexSettings, scene_cuts: list[float] | None = None) -> list[Chunk]:
    return plan_chunks(probe, chunk_s=settings.chunk_s, overlap_s=min(settings.overlap_s, settings.chunk_s / 2),
                       sample_fps=settings.sample_fps, scene_cuts=scene_cuts)


class ChunkCommitter:
    def __init__(self, settings: IndexSettings, writer: IndexWriter, progress: IndexProgress, job_id: int | None):
        self.settings = settings
        self.writer = writer
        self.progress = progress
        self.job_id = job_id

    def plan(self, path: str) -> PlannedVideo | VideoReport:
        """Probe, plan chunks, register with the index. A report when there is nothing to analyse (the video
        is unchanged, or failed to probe or plan); otherwise the plan, and the progress hears it started."""
        try:
            probe = probe_video(path)
        except UserError as exc:
            return self.video_failed(path, exc)
        s = self.settings
        try:
            cuts = detect_scene_cuts(path, probe=probe) if s.scene_cuts and not probe.is_image else None
            chunks = plan_spans(probe, s, cuts)
            plan = self.writer.begin_video(path, _facts(probe), [(c.start_s, c.end_s) for c in chunks], self.job_id)
        except IndexDiskFull:
            raise  # the index's own fault, not the video's: the run stops
        except UserError as exc:
            return self.video_failed(path, exc)
        if not plan.pending_chunks:
            report = VideoReport(path=path, outcome="unchanged", chunks_total=len(chunks))
            self.progress.video_finished(report)
            return report
        self.progress.video_started(path, len(chunks), len(plan.pending_chunks), probe.duration_s or 0.0)
        return PlannedVideo(path=path, probe=probe, plan=plan, chunks=chunks)

    def link(self, video: PlannedVideo, chunk: Chunk, masklets: list[Masklet]) -> LinkedChunk:
        """Match `masklets` (chunk `chunk`, untrimmed) to the previous chunk's stored objects on the overlap, then
        re-identify the rest among the objects seen in the last `REID_GAP_S` seconds
        (agent/indexing/object_links.py)."""
        links: list[int | None] = [None] * len(masklets)
        tracked = list(masklets)  # untrimmed: duplicates are told apart over the whole chunk
        previous = video.chunks[chunk.index - 1] if chunk.index > 0 else None
        if previous is not None and masklets and previous.end_s > chunk.start_s:
            # The previous chunk's end is exclusive: a frame of this chunk at its end time is no frame of that chunk,
            # and counting it as the object's absence there halved the overlap IoU of an object seen on one shared
            # frame (an identity switch and a false leave, measured on 30 unseen minutes).
            overlap = (chunk.start_s, previous.end_s - SAME_FRAME_S)
            stored = self.writer.chunk_tracks(video.plan.video_id, previous.index, *overlap)
            links = link_objects(masklets, stored, overlap, self.settings.link_iou)
            # A continued object already has its overlap frames from the previous chunk; keep them once.
            masklets = [
                m if link is None else m.model_copy(update={"points": [p for p in m.points if p.time_s >= previous.end_s]})
                for m, link in zip(masklets, links)
            ]
        if masklets and None in links:
            # Nothing on the overlap: objects seen shortly before this chunk may come back under the same name.
            recent = self.writer.recent_objects(video.plan.video_id, chunk.start_s - REID_GAP_S, chunk.end_s)
            links = reidentify(masklets, links, recent)
        return _one_track_per_object(video.plan.video_id, chunk.index, masklets, links, same_object_as(tracked, links))

    def commit(self, video: PlannedVideo, chunk: Chunk, caption: str, grounded_caption: str, linked: LinkedChunk,
               descriptions: list[str | None]) -> None:
        """Store the chunk all-or-nothing. `chunk.frame_times` are the true times of the frames analysed."""
        analysis = ChunkAnalysis(
            video_path=video.plan.path, chunk_index=chunk.index, start_s=chunk.start_s, end_s=chunk.end_s,
            frame_times=chunk.frame_times, caption=caption, grounded_caption=grounded_caption,
            phrases=[GroundedPhrase(phrase=m.expression, masklet=m) for m in linked.masklets],
        )
        self.writer.commit_chunk(video.plan.video_id, analysis, linked.links, descriptions, self.job_id)
        self.progress.chunk_finished(video.path, chunk.index, chunk.end_s, ok=True)

    def fail(self, video: PlannedVideo, chunk: Chunk, error: str) -> None:
        """The chunk stays to do: the next run retries it."""
        self.writer.mark_chunk_failed(video.plan.video_id, chunk.index, error, self.job_id)
        self.progress.chunk_finished(video.path, chunk.index, chunk.end_s, ok=False)

    def finish(self, video: PlannedVideo, done: int, failed: int) -> VideoReport:
        report = VideoReport(
            path=video.path, outcome="partial" if failed else "indexed", chunks_total=len(video.chunks),
            chunks_done=done, chunks_failed=failed,
            error=f"{failed} chunk(s) failed; rerun to retry them" if failed else None,
        )
        self.progress.video_finished(report)
        return report

    def video_failed(self, path: str, exc: UserError | str, chunks_total: int = 0, done: int = 0, failed: int = 0,
                     problem: str | None = None) -> VideoReport:
        """The whole video failed (probe, plan or decode); what was committed stays. `exc` is the error or its
        one-line text; `problem` what the index records (default: the error's `problem`, else its text)."""
        message = str(exc)
        problem = problem or getattr(exc, "problem", message)
        self.writer.mark_video_failed(path, problem, self.job_id)
        report = VideoReport(path=path, outcome="failed", chunks_total=chunks_total, chunks_done=done,
                             chunks_failed=failed, error=message)
        self.progress.video_finished(report)
        return report


def _one_track_per_object(video_id: int, chunk_index: int, masklets: list[Masklet], links: list[int | None],
                          same_as: list[int | None]) -> LinkedChunk:
    """Phrases that name one object (`same_as[j]`: the masklet j tracks the same object as) link to the object of
    the one kept: its stored object, or the new one it makes (ids are derived, so a later phrase of the chunk can
    name it). Their own tracks are dropped: an object has one track point per frame, the kept one's."""
    masklets, links = list(masklets), list(links)
    for j, i in enumerate(same_as):
        if i is not None:
            links[j] = links[i] if links[i] is not None else new_object_id(video_id, chunk_index, i)
            masklets[j] = masklets[j].model_copy(update={"points": []})
    return LinkedChunk(masklets=masklets, links=links)


def _facts(probe: VideoProbe) -> VideoFacts:
    return VideoFacts(
        duration_s=probe.duration_s or 0.0, fps=probe.avg_fps or probe.real_fps, width=probe.display_width,
        height=probe.display_height,
        extra={"codec": probe.codec, "container": probe.container, "rotation_deg": probe.rotation_deg,
               "has_audio": probe.has_audio},
    )
