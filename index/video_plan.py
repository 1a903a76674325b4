"""What the writer needs to start a video (probe facts, chunk spans) and what it answers (which chunks remain)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class VideoFacts(BaseModel):
    """Probe facts kept with the video; `extra` is stored as JSON for anything else the prober knows."""

    duration_s: float = Field(ge=0, description="seconds")
    fps: float | None = Field(default=None, gt=0, description="native frames per second")
    width: int | None = Field(default=None, gt=0, description="pixels")
    height: int | None = Field(default=None, gt=0, description="pixels")
    extra: dict[str, Any] = Field(default_factory=dict)


class VideoPlan(BaseModel):
    """The writer's answer to `begin_video`.

    state: `new` (first time), `unchanged` (same content and chunking, nothing left to do), `resumed` (same
    content, some chunks still pending or failed), `changed` (new hash or new chunking: old rows were dropped).
    """

    video_id: int
    path: str
    content_hash: str
    state: Literal["new", "unchanged", "resumed", "changed"]
    pending_chunks: list[int] = Field(description="chunk indices still to analyse, ascending; failed ones included")
