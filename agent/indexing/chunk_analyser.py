"""The model side of indexing one chunk: caption, grounded caption, tracking, descriptions. Nothing here
touches the index, so the same code runs inside the single-process graph (`agent/indexing/index_graph.py`, one step
per node) and inside a Ray engine actor (`agent/indexing/ray_worker.py`, `analyse` runs every step).

What stays out of here is everything sequential: linking a chunk's tracks to the previous chunk's *stored*
tracks, trimming the overlap, committing (`agent/indexing/chunk_committer.py`). A worker therefore cannot know which
objects will be linked; `analyse` describes every object and the graph's link node keeps only the
descriptions of objects that turn out new. Descriptions depend only on the untrimmed masklet and the chunk's frames, so the
kept ones are exactly what the graph computes for the same objects.

Failures inside a chunk become one-line errors naming the chunk and the step, in the same words on both
paths (`chunk_error`); a checkpoint that cannot load is not a chunk failure and is raised (or, in a worker,
returned as `fatal` for the writer to raise).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import torch
from pydantic import BaseModel, ConfigDict, Field
from torchvision.ops import box_iou

from agent.indexing.index_settings import IndexSettings
from agent.indexing.object_links import new_finds
from agent.indexing.stage_clock import StageClock, StageTimes
from index.errors import IndexDiskFull
from sa2va_engine.errors import CheckpointError, UnsupportedModelError
from sa2va_engine.masklet import Masklet
from sa2va_engine.results import SegPrompt
from sa2va_engine.sa2va import Sa2VA
from tools.clip import Clip
from tools.motion_regions import moving_regions
from tools.sa2va_chat import CHUNK_CAPTION_QUESTION, ChatRequest, chat_about_clip, chat_about_clips
from tools.sa2va_ground import GroundRequest, ground_clip, ground_clips
from tools.sa2va_region import RegionRequest, describe_region, describe_regions, name_regions
from tools.sa2va_track import TrackRequest, track_clips
from tools.video_chunks import Chunk, ChunkFrames
from tools.video_decode import DecodedFrame

# Errors that would fail every chunk the same way: they stop the batch instead of being recorded per chunk.
FATAL_ERRORS = (CheckpointError, UnsupportedModelError, IndexDiskFull)

# A moving region's name is kept when its track's box overlaps the region's by this much on the region's frame: a
# name that finds something else (the model names a patch of background "the white dog", whose track then lands on
# the white dog or nowhere) is no find.
MOVED_IOU = 0.3

# The step a description failure is reported under: the graph describes new objects inside its `link` node.
DESCRIBE_STEP = "link"


class ChunkWork(BaseModel):
    """What a worker found in one chunk, before linking. Times are seconds from the video's start.

    `chunk.frame_times` are the true times of the frames analysed. `descriptions[i]` / `describe_errors[i]`
    belong to `masklets[i]` (a description for every object, linked or not; see the module docstring).
    Exactly one of the outcomes holds: analysed (`error`, `video_error`, `fatal` all None), the chunk failed
    (`error`), the video could not be decoded (`video_error`, `video_problem`), or the batch must stop (`fatal`).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chunk: Chunk
    caption: str = ""
    grounded_caption: str = ""
    masklets: list[Masklet] = Field(default_factory=list)
    descriptions: list[str | None] = Field(default_factory=list)
    describe_errors: list[str | None] = Field(default_factory=list)
    error: str | None = None
    video_error: str | None = Field(default=None, description="the decode's one-line error (the report's words)")
    video_problem: str | None = Field(default=None, description="what the index records for the failed video")
    fatal: Exception | None = None
    worker_pid: int | None = Field(default=None, description="process that did the work (Ray: the actor)")
    stages: StageTimes | None = Field(default=None, description="where the worker's time went on this chunk")


class MovedName(BaseModel):
    """A name the model gave a moving region of the chunk seen up close (`tools.motion_regions`), and where the
    region was: its track is kept only if it covers the region there."""

    name: str
    frame_index: int
    box: tuple[float, float, float, float]


class Grounding(BaseModel):
    """What the ground step found in one chunk, for the track step. `expressions` (the grounded caption's phrases
    and the watch list) are tracked and kept as they are. The sweep's finds are tracked too: `swept` (phrases that
    only a key frame grounded alone gave), `seg_prompts` (the `[SEG]` states of a phrase the caption gave more
    than once) and `moved` (names of the chunk's moving regions seen up close). Each of those is kept only if it
    finds a new object (`object_links.new_finds`), a moved name only if its track also covers its region."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    raw: str = Field(default="", description="the grounded caption with its markup")
    expressions: list[str] = Field(default_factory=list)
    swept: list[str] = Field(default_factory=list)
    seg_prompts: list[SegPrompt] = Field(default_factory=list)
    moved: list[MovedName] = Field(default_factory=list)


def chunk_error(chunk: Chunk, step: str, exc: BaseException) -> str:
    """The one line recorded on a failed chunk, e.g. `chunk 1 (4.0-9.0 s) ground: RuntimeError: CUDA out of memory`."""
    first_line = (str(exc).splitlines() or [""])[0]
    return f"chunk {chunk.index} ({chunk.start_s:.1f}-{chunk.end_s:.1f} s) {step}: {type(exc).__name__}: {first_line}"


def unique_expressions(expressions: list[str]) -> list[str]:
    """Phrases in order, each once (case and spacing ignored): the same words would track the same object twice."""
    seen: set[str] = set()
    out = []
    for e in expressions:
        key = _key(e)
        if key and key not in seen:
            seen.add(key)
            out.append(e.strip())
    return out


def _shared_phrases(prompts: list[SegPrompt]) -> list[SegPrompt]:
    """The `[SEG]`s whose phrase the caption gave more than once: a phrase given once is tracked by its words already."""
    counts = Counter(_key(p.phrase) for p in prompts)
    return [p for p in prompts if counts[_key(p.phrase)] > 1]


def _key(expression: str) -> str:
    return " ".join(expression.lower().split())


class ChunkAnalyser:
    """The model calls for one chunk. `engine` is called only when a step needs the model, so a run with
    nothing to analyse loads none."""

    def __init__(self, settings: IndexSettings, engine: Callable[[], Sa2VA]):
        self.settings = settings
        self._engine = engine

    # -- steps (the graph's nodes call these one by one) -------------------------------------
    def caption(self, clip: Clip) -> str:
        if not self.settings.caption or not clip.frames:
            return ""
        request = ChatRequest(question=CHUNK_CAPTION_QUESTION, clip=clip, frames=self.settings.key_frames,
                              max_new_tokens=self.settings.max_new_tokens)
        return chat_about_clip(self._engine(), request).text

    def captions(self, clips: list[Clip]) -> list[str]:
        """`caption` of several chunks in one batched generation."""
        if not self.settings.caption or len(clips) == 1:
            return [self.caption(c) for c in clips]
        requests = [ChatRequest(question=CHUNK_CAPTION_QUESTION, clip=c, frames=self.settings.key_frames,
                                max_new_tokens=self.settings.max_new_tokens) for c in clips]
        return [reply.text for reply in chat_about_clips(self._engine(), requests)]

    def ground(self, clip: Clip) -> Grounding:
        """The chunk's grounded caption, its phrases and the watch list to track, and with `sweep` what the sweep
        adds (see `grounds`)."""
        return self.grounds([clip])[0]

    def grounds(self, clips: list[Clip]) -> list[Grounding]:
        """`ground` of several chunks: their grounded captions in one batched generation. With `sweep`, each key
        frame of each chunk is grounded alone too (one more batched generation, of single frames), and the `[SEG]`
        states of a phrase the caption gives more than once are kept for tracking. Why: measured on unseen worlds
        (bench/README.md), a caption over five frames tracks only 0.54 of the objects in view: a small model names
        two objects alike ("the green ball moves left and the green ball moves left"), whose words can track only
        one, while each clause's own `[SEG]` still points at its own object; and a single frame's caption names
        what the clip's leaves out."""
        if not self.settings.ground or not all(c.frames for c in clips):
            watched = Grounding(expressions=unique_expressions(list(self.settings.watch)))
            return [self.grounds([c])[0] if self.settings.ground and c.frames else watched for c in clips]
        requests = [GroundRequest(clip=c, frames=self.settings.key_frames, max_new_tokens=self.settings.max_new_tokens)
                    for c in clips]
        sweeping = self.settings.sweep
        frames_of: list[list[int]] = [c.key_indices(self.settings.key_frames) if sweeping and len(c.frames) > 1 else []
                                      for c in clips]
        for clip, keys in zip(clips, frames_of):
            requests += [GroundRequest(clip=clip.model_copy(update={"frames": [clip.frames[i]]}), frames=1,
                                       max_new_tokens=self.settings.max_new_tokens) for i in keys]
        replies = iter(self._ground_all(requests, len(clips)))
        own = [next(replies) for _ in clips]
        out = []
        for reply, keys in zip(own, frames_of):
            expressions = unique_expressions(reply.phrases + list(self.settings.watch))
            seen = {_key(e) for e in expressions}
            alone = [p for _ in keys for p in next(replies).phrases]
            swept = [p for p in unique_expressions(alone) if _key(p) not in seen]
            out.append(Grounding(raw=reply.raw, expressions=expressions, swept=swept,
                                 seg_prompts=_shared_phrases(reply.seg_prompts) if sweeping else []))
        if sweeping and self.settings.motion_sweep:
            self._name_moving_regions(clips, out)
        return out

    def _name_moving_regions(self, clips: list[Clip], groundings: list[Grounding]) -> None:
        """Each chunk's moving regions (`tools.motion_regions`) named up close, all in one generation; a name the
        chunk's grounding does not have already becomes one of its `moved` names (the first region of a name)."""
        requests, where = [], []
        for i, clip in enumerate(clips):
            for region in moving_regions([f.image for f in clip.frames]):
                requests.append(RegionRequest(frame=clip.frames[region.frame_index], box=region.box,
                                              max_new_tokens=16))
                where.append((i, region))
        if not requests:
            return
        for (i, region), name in zip(where, name_regions(self._engine(), requests)):
            grounding = groundings[i]
            known = {_key(e) for e in [*grounding.expressions, *grounding.swept, *(m.name for m in grounding.moved)]}
            if name and _key(name) not in known:
                grounding.moved.append(MovedName(name=name, frame_index=region.frame_index, box=region.box))

    def _ground_all(self, requests: list[GroundRequest], n_clips: int) -> list:
        """The replies to ``requests`` (the first ``n_clips`` are whole chunks): several chunks in batches (a failed
        batch is the caller's to retry one chunk alone); one chunk's caption alone, as without the sweep, and its
        key frames in one batch, or one by one if that batch fails (say, out of memory)."""
        engine = self._engine()
        if n_clips > 1:
            return ground_clips(engine, requests)
        own, frames = ground_clip(engine, requests[0]), requests[1:]
        try:
            return [own, *ground_clips(engine, frames)]
        except FATAL_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - retried one by one; an error there is the chunk's own
            return [own, *(ground_clip(engine, r) for r in frames)]

    def track(self, clip: Clip, grounding: Grounding) -> list[Masklet]:
        return self.tracks([clip], [grounding])[0]

    def tracks(self, clips: list[Clip], groundings: list[Grounding]) -> list[list[Masklet]]:
        """The masklets of each chunk's grounding (``groundings[i]`` for ``clips[i]``): its expressions, then the
        sweep's finds that are new objects. SAM-2's image encoder runs over the frames of all the chunks in batches
        of `IndexSettings.sam2_frame_batch`."""
        out: list[list[Masklet] | None] = [None] * len(clips)
        requests, where = [], []
        for i, (clip, grounding) in enumerate(zip(clips, groundings)):
            exprs = grounding.expressions + grounding.swept + [m.name for m in grounding.moved]
            if not exprs and not grounding.seg_prompts:
                out[i] = []
            elif not self.settings.track or not clip.frames:
                out[i] = [Masklet(expression=e, points=[]) for e in grounding.expressions]
            else:
                requests.append(TrackRequest(clip=clip, expressions=exprs, key_frames=self.settings.key_frames,
                                             prompt_every_frame=self.settings.prompt_every_frame,
                                             seg_prompts=grounding.seg_prompts))
                where.append(i)
        if requests:
            replies = track_clips(self._engine(), requests, self.settings.sam2_frame_batch())
            for i, reply in zip(where, replies):
                out[i] = new_finds(_moved_last(reply.masklets, groundings[i]), len(groundings[i].expressions))
        return out

    def names(self, clips: list[Clip], tracks: list[list[Masklet]]) -> list[list[Masklet]]:
        """With `name_objects`: each masklet of ``tracks[i]`` (the objects of ``clips[i]``) that the grounded
        caption found, not a watched expression, renamed to what the model calls the object seen up close on the
        frame where its mask is largest (`name_regions`, all of them in one generation). A masklet never
        present, or whose answer is no name, keeps its phrase. Why: a small model's caption phrase names what it
        can see at frame scale ("the red ball" for a red dog), and the name is the label the index stores and
        questions are resolved against."""
        if not self.settings.name_objects:
            return tracks
        watched = {" ".join(w.lower().split()) for w in self.settings.watch}
        requests, where = [], []
        for i, (clip, masklets) in enumerate(zip(clips, tracks)):
            for j, masklet in enumerate(masklets):
                request = (None if " ".join(masklet.expression.lower().split()) in watched
                           else _largest_view(clip.frames, masklet, 16))
                if request is not None:
                    requests.append(request)
                    where.append((i, j))
        out = [list(masklets) for masklets in tracks]
        for (i, j), name in zip(where, name_regions(self._engine(), requests) if requests else []):
            if name:
                out[i][j] = out[i][j].model_copy(update={"expression": name})
        return out

    def describe(self, frames: list[DecodedFrame], masklet: Masklet) -> str | None:
        """A region caption of the object on the frame where its mask is largest; None when it is never
        present (or descriptions are off)."""
        request = self._region_request(frames, masklet)
        return None if request is None else describe_region(self._engine(), request).text or None

    def describe_all(self, frames: list[DecodedFrame], masklets: list[Masklet]) -> list[str | None | Exception]:
        """`describe` of several objects of a chunk (e.g. all its new ones) in one batched generation: each item is
        the description, None, or the exception describing that object alone raised. If the batch fails (say,
        out of memory), each object is described alone, so an object fails only for a reason of its own. Errors
        that would fail every chunk (`FATAL_ERRORS`) are raised."""
        requests = [self._region_request(frames, m) for m in masklets]
        wanted = [r for r in requests if r is not None]
        if len(wanted) > 1:
            try:
                replies = iter(describe_regions(self._engine(), wanted))
                return [None if r is None else next(replies).text or None for r in requests]
            except FATAL_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - retried one by one; an error there is the object's own
                pass
        out: list[str | None | Exception] = []
        for masklet in masklets:
            try:
                out.append(self.describe(frames, masklet))
            except FATAL_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - the caller decides what an object's failure means
                out.append(exc)
        return out

    def _region_request(self, frames: list[DecodedFrame], masklet: Masklet) -> RegionRequest | None:
        if not self.settings.describe:
            return None
        return _largest_view(frames, masklet, min(48, self.settings.max_new_tokens))

    # -- all steps (a Ray worker) -------------------------------------------------------------
    def analyse(self, video_path: str, current: ChunkFrames, clock: StageClock | None = None) -> ChunkWork:
        """Every step on one decoded chunk, each object described, each step timed on ``clock`` (the graph's
        stages). Never raises for a chunk's failure: it is the returned `error` (or `fatal` for an unusable
        checkpoint)."""
        clock = clock or StageClock()
        chunk = current.chunk
        work = ChunkWork(chunk=chunk)
        if not current.frames:  # a gap in the recording: committed empty, as the graph does
            return work
        clock.times.chunks += 1
        clip = Clip(video_path=video_path, start_s=chunk.start_s, end_s=chunk.end_s, frames=current.frames)
        step = "caption"
        try:
            with clock.stage("caption"):
                work.caption = self.caption(clip)
            step = "ground"
            with clock.stage("ground"):
                grounding = self.ground(clip)
                work.grounded_caption = grounding.raw
            step = "track"
            with clock.stage("track"):
                work.masklets = self.track(clip, grounding)
            step = "name"
            with clock.stage("describe"):
                work.masklets = self.names([clip], [work.masklets])[0]
        except FATAL_ERRORS as exc:
            return ChunkWork(chunk=chunk, fatal=exc)
        except Exception as exc:  # noqa: BLE001 - any model or data failure is recorded on the chunk
            return ChunkWork(chunk=chunk, error=chunk_error(chunk, step, exc))
        try:
            with clock.stage("describe"):
                described = self.describe_all(current.frames, work.masklets)
        except FATAL_ERRORS as exc:
            return ChunkWork(chunk=chunk, fatal=exc)
        for item in described:  # an object's failure fails the chunk only if the object turns out new
            failed = isinstance(item, Exception)
            work.descriptions.append(None if failed else item)
            work.describe_errors.append(chunk_error(chunk, DESCRIBE_STEP, item) if failed else None)
        return work


def _moved_last(masklets: list[Masklet], grounding: Grounding) -> list[Masklet]:
    """The track reply's masklets (expressions, swept, moved names, seg prompts) with the moved names' last, the
    least trusted finds, and only those whose track covers the region they were named on."""
    start = len(grounding.expressions) + len(grounding.swept)
    end = start + len(grounding.moved)
    moved = [m for m, name in zip(masklets[start:end], grounding.moved) if _covers(m, name)]
    return [*masklets[:start], *masklets[end:], *moved]


def _covers(masklet: Masklet, moved: MovedName) -> bool:
    """Whether the track's box on the region's frame overlaps the region's box by `MOVED_IOU` (IoU)."""
    if moved.frame_index >= len(masklet.points):
        return False
    point = masklet.points[moved.frame_index]
    if not point.present or point.box is None:
        return False
    return float(box_iou(torch.tensor([point.box]), torch.tensor([moved.box]))[0, 0]) >= MOVED_IOU


def _largest_view(frames: list[DecodedFrame], masklet: Masklet, max_new_tokens: int) -> RegionRequest | None:
    """The object's box on the frame where its mask is largest; None when it is never present."""
    present = [p for p in masklet.points if p.present and p.box]
    if not present:
        return None
    best = max(present, key=lambda p: p.area)
    frame = min(frames, key=lambda f: abs(f.time_s - best.time_s))
    return RegionRequest(frame=frame, box=best.box, max_new_tokens=max_new_tokens)
