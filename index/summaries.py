"""The typed rows readers list: videos in the library, their chunks and objects, and indexing jobs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from sa2va_engine.masklet import TrackPoint


class VideoSummary(BaseModel):
    video_id: int
    path: str
    status: str  # indexing | done | partial (some chunks failed) | failed (whole video)
    error: str | None
    content_hash: str | None
    duration_s: float | None
    fps: float | None
    width: int | None
    height: int | None
    chunks_total: int
    chunks_done: int
    chunks_failed: int
    objects: int


class ChunkSummary(BaseModel):
    chunk_index: int
    start_s: float
    end_s: float
    status: str  # pending | done | failed
    caption: str | None
    error: str | None


class ObjectSummary(BaseModel):
    object_id: int
    video_path: str
    label: str
    description: str | None
    first_seen_s: float | None
    last_seen_s: float | None
    points: int


class JobSummary(BaseModel):
    job_id: int
    command: str
    pid: int
    host: str
    status: str  # running | done | partial | failed | interrupted
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    videos_total: int
    videos_done: int
    chunks_done: int
    chunks_failed: int
    error: str | None
    stages: str | None = None  # JSON: seconds per stage, tokens, frames, chunks (agent/indexing/stage_clock.py)


class LastSeen(BaseModel):
    """An object's label and its last stored track point (what re-identification compares a new track with)."""

    object_id: int
    label: str
    point: TrackPoint


class ObjectNames(BaseModel):
    """An object with every name the index has for it: what subject resolution compares a question with."""

    object_id: int
    video_id: int
    video_path: str
    label: str
    description: str | None
    phrases: list[str]  # the phrase each chunk linked to the object gave it, repeats kept: how many chunks said what
    first_seen_s: float | None
    last_seen_s: float | None


class StoredEvent(BaseModel):
    """A row of the `events` table with its video's path. Times are seconds from the start of the video."""

    video_path: str
    object_id: int
    other_object_id: int | None
    kind: str
    start_s: float
    end_s: float
    score: float
    evidence_s: list[float]
    rule: str
    size: float | None = None  # tools/track_event.py SIZE_UNITS
