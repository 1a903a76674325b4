"""What the indexer learns about one chunk of a video: its caption, grounded phrases and their tracks."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sa2va_engine.masklet import Masklet


class GroundedPhrase(BaseModel):
    """A phrase of a grounded caption (``<p>phrase</p> [SEG]``) with the object track it was grounded to."""

    phrase: str
    masklet: Masklet


class ChunkAnalysis(BaseModel):
    """Everything the model said about one chunk; times are seconds from the video's start."""

    video_path: str
    chunk_index: int
    start_s: float
    end_s: float
    frame_times: list[float] = Field(description="times of the sampled frames the model saw, seconds")
    caption: str = ""
    grounded_caption: str = ""
    phrases: list[GroundedPhrase] = Field(default_factory=list)
