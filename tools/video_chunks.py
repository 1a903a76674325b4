"""Cutting a long video into overlapping windows that are analysed one at a time.

Chunk i covers ``[boundary_i, boundary_{i+1} + overlap_s)``: consecutive chunks share ``overlap_s``
seconds, so an object seen in that stretch appears in both and its identity can be linked across them.
Boundaries are every ``chunk_s`` seconds, or, when scene cuts are given, moved onto a cut within
``snap_tolerance_s``; a chunk that ends at a cut has no overlap, so no chunk mixes two scenes there.
The last chunk ends at the video's duration; a tail no longer than the overlap (or one sampling slot)
is folded into the chunk before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field, model_validator

from tools.video_decode import DEFAULT_SAMPLE_FPS, DecodedFrame
from tools.video_error import VideoError
from tools.video_probe import VideoProbe


class Chunk(BaseModel):
    index: int
    start_s: float
    end_s: float = Field(description="exclusive, except that the last chunk also holds a frame at the duration")
    frame_times: list[float] = Field(
        description="seconds; in a plan, the start of each sampling slot in the window; once decoded "
        "(ChunkFrames.chunk), the true times of the frames the chunk received"
    )

    @model_validator(mode="after")
    def _ordered(self) -> "Chunk":
        if self.end_s < self.start_s:
            raise ValueError(f"chunk {self.index} ends ({self.end_s}) before it starts ({self.start_s})")
        return self


def _snap(nominal: float, cuts: Sequence[float], low: float, high: float, tolerance: float) -> float:
    """The cut nearest ``nominal`` within ``tolerance`` that stays inside (low, high), else ``nominal``."""
    best = nominal
    best_distance = tolerance
    for cut in cuts:
        distance = abs(cut - nominal)
        if distance <= best_distance and low < cut < high:
            best, best_distance = cut, distance
    return best


def plan_chunks(
    probe: VideoProbe,
    *,
    chunk_s: float = 10.0,
    overlap_s: float = 1.0,
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    scene_cuts: Sequence[float] | None = None,
    snap_tolerance_s: float | None = None,
) -> list[Chunk]:
    """Windows covering the whole of ``probe``'s video (seconds throughout).

    ``snap_tolerance_s`` defaults to a quarter of ``chunk_s``; boundaries are placed one after another, so
    with snapping a chunk lasts between ``chunk_s - tolerance`` and ``chunk_s + tolerance`` (plus overlap).
    An image is one chunk [0, 0] holding the one frame at 0 s.
    """
    if chunk_s <= 0 or overlap_s < 0 or overlap_s >= chunk_s or sample_fps <= 0:
        raise ValueError(f"need chunk_s > overlap_s >= 0 and sample_fps > 0, got {chunk_s}, {overlap_s}, {sample_fps}")
    if probe.is_image:
        return [Chunk(index=0, start_s=0.0, end_s=0.0, frame_times=[0.0])]
    duration = probe.duration_s
    if duration is None:
        raise VideoError(probe.path, "duration unknown (the container does not say); cannot plan chunks")
    tolerance = chunk_s / 4 if snap_tolerance_s is None else snap_tolerance_s
    cuts = sorted(c for c in (scene_cuts or []) if 0 < c < duration)
    # A chunk (and the tail) must be longer than the overlap, or it would lie inside its neighbour.
    shortest = max(overlap_s, 1.0 / sample_fps)
    boundaries = [0.0]
    at_cut = [False]
    while True:
        nominal = boundaries[-1] + chunk_s
        if nominal > duration - shortest:
            break
        boundary = _snap(nominal, cuts, boundaries[-1] + shortest, duration - shortest, tolerance) if cuts else nominal
        boundaries.append(boundary)
        at_cut.append(boundary != nominal or boundary in cuts)
    chunks = []
    for index, start in enumerate(boundaries):
        last = index == len(boundaries) - 1
        # No overlap across a cut: nothing seen before it can be linked to what is seen after it.
        overlap = 0.0 if not last and at_cut[index + 1] else overlap_s
        end = duration if last else min(duration, boundaries[index + 1] + overlap)
        chunks.append(Chunk(index=index, start_s=start, end_s=end, frame_times=_slot_times(start, end, sample_fps)))
    return chunks


def _slot_times(start: float, end: float, sample_fps: float) -> list[float]:
    """Starts of the sampling slots (k / sample_fps seconds) in [start, end). A decoded frame lies at or
    shortly after its slot's start, so these are what a plan can promise before anything is decoded."""
    times = []
    k = math.ceil(start * sample_fps - 1e-9)
    while k / sample_fps < end - 1e-9:
        times.append(round(k / sample_fps, 6))
        k += 1
    return times or [round(start, 6)]


@dataclass
class ChunkFrames:
    """A chunk and its decoded frames; ``chunk.frame_times`` are the true times of ``frames``."""

    chunk: Chunk
    frames: list[DecodedFrame]


def iter_chunk_frames(frames: Iterable[DecodedFrame], chunks: Sequence[Chunk]) -> Iterator[ChunkFrames]:
    """Deal one pass of sampled frames out to the planned chunks, yielding each chunk once it is complete.

    A frame in an overlap goes to both chunks. Only the chunks still open are held (two at a time with
    the usual overlap), so memory does not grow with the video. Every chunk is yielded, in order, even
    one that received no frame (a gap in the recording).
    """
    ordered = sorted(chunks, key=lambda c: c.start_s)
    if not ordered:
        return
    buckets: dict[int, list[DecodedFrame]] = {}
    done = 0  # chunks before this one have been yielded

    def finish(position: int) -> ChunkFrames:
        chunk = ordered[position]
        got = buckets.pop(position, [])
        return ChunkFrames(chunk=chunk.model_copy(update={"frame_times": [f.time_s for f in got]}), frames=got)

    last = len(ordered) - 1
    for frame in frames:
        t = frame.time_s
        while done < last and ordered[done].end_s <= t:
            yield finish(done)
            done += 1
        position = done
        while position <= last and ordered[position].start_s <= t:
            chunk = ordered[position]
            if t < chunk.end_s or position == last:
                buckets.setdefault(position, []).append(frame)
            position += 1
    while done <= last:
        yield finish(done)
        done += 1
