"""The product's answer currency: a time range of a video where the asked-for thing happens."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class Evidence(BaseModel):
    """Why a moment was returned: the stored rows it rests on."""

    chunk_index: int | None = None
    caption: str | None = None
    object_id: int | None = Field(default=None, description="id of an object row in the index")
    phrase: str | None = None
    track_times: list[float] = Field(default_factory=list, description="seconds of the track points shown")
    verified: bool = False
    verify_score: float | None = None
    event: str | None = Field(default=None, description="the stored event kind this moment is, e.g. 'jump'")
    rule: str | None = Field(default=None, description="the rule that produced the event, in words")
    size: float | None = Field(default=None, description="how big the event was, in its kind's unit "
                               "(tools/track_event.py SIZE_UNITS): a jump's height, a motion's top speed")


class Moment(BaseModel):
    video_path: str
    start_s: float
    end_s: float
    score: float
    evidence: list[Evidence] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> "Moment":
        if self.end_s < self.start_s:
            raise ValueError(f"moment ends ({self.end_s}) before it starts ({self.start_s})")
        return self
