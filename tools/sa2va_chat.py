"""Tool: ask Sa2VA about a clip (or text only), e.g. the caption of a chunk or a user's question."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine import prompts
from sa2va_engine.sa2va import Sa2VA
from tools.clip import LLM_FRAMES, Clip

CHUNK_CAPTION_QUESTION = prompts.VIDEO_CAPTION


class ChatRequest(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    question: str
    clip: Clip | None = Field(default=None, description="None: text-only (no frames)")
    history: list[tuple[str, str]] = Field(default_factory=list, description="earlier (question, answer) turns")
    max_new_tokens: int = Field(default=256, ge=1)
    frames: int = Field(default=LLM_FRAMES, ge=1, description="frames of the clip the model sees, spread evenly")


class ChatReply(BaseModel):
    text: str
    frame_times: list[float] = Field(description="seconds of the frames the model saw")


def chat_about_clips(engine: Sa2VA, requests: list[ChatRequest]) -> list[ChatReply]:
    """`chat_about_clip` of several clips asked the same question (no history), in one batched generation."""
    if not requests:
        return []
    first = requests[0]
    if any(r.question != first.question or r.history or r.clip is None or r.frames != first.frames
           or r.max_new_tokens != first.max_new_tokens for r in requests):
        return [chat_about_clip(engine, r) for r in requests]
    keys = [r.clip.key_indices(r.frames) for r in requests]
    answers = engine.chat_batch([[r.clip.frames[i].image for i in k] for r, k in zip(requests, keys)],
                                first.question, max_new_tokens=first.max_new_tokens)
    return [ChatReply(text=a.text.strip(), frame_times=[r.clip.frames[i].time_s for i in k])
            for a, r, k in zip(answers, requests, keys)]


def chat_about_clip(engine: Sa2VA, request: ChatRequest) -> ChatReply:
    clip = request.clip
    keys = clip.key_indices(request.frames) if clip is not None else []
    visual = [clip.frames[i].image for i in keys] if clip is not None else None
    answer = engine.chat(visual, request.question, history=request.history or None,
                         max_new_tokens=request.max_new_tokens)
    return ChatReply(text=answer.text.strip(), frame_times=[clip.frames[i].time_s for i in keys] if clip else [])
