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
    return verify_clips(engine, [request])[0]


def verify_clips(engine: Sa2VA, requests: list[VerifyRequest]) -> list[VerifyReply]:
    """Several clips asked the same question: one batched forward pass per distinct question (engine
    `yes_probabilities`), replies in request order."""
    replies: list[VerifyReply | None] = [None] * len(requests)
    by_question: dict[str, list[int]] = {}
    for i, request in enumerate(requests):
        by_question.setdefault(request.question, []).append(i)
    for question, indices in by_question.items():
        keys = [requests[i].clip.key_indices(requests[i].frames) for i in indices]
        visuals = [[requests[i].clip.frames[k].image for k in ks] for i, ks in zip(indices, keys)]
        for i, ks, p in zip(indices, keys, engine.yes_probabilities(visuals, question)):
            replies[i] = VerifyReply(p_yes=p, frame_times=[requests[i].clip.frames[k].time_s for k in ks])
    return replies
