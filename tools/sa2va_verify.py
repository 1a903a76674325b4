"""Tool: how sure Sa2VA is that a yes/no question holds for a clip, from its token probabilities."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine.sa2va import Sa2VA
from tools.clip import LLM_FRAMES, Clip


class VerifyRequest(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    clip: Clip
    question: str
    frames: int = Field(default=LLM_FRAMES, ge=1)


class VerifyReply(BaseModel):
    p_yes: float = Field(ge=0, le=1, description="P(yes) / (P(yes) + P(no)) of the first answer token")
    frame_times: list[float]


def verify_clip(engine: Sa2VA, request: VerifyRequest) -> VerifyReply:
    keys = request.clip.key_indices(request.frames)
    p = engine.yes_probability([request.clip.frames[i].image for i in keys], request.question)
    return VerifyReply(p_yes=p, frame_times=[request.clip.frames[i].time_s for i in keys])
