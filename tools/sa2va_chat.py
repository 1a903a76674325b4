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


def chat_about_clip(engine: Sa2VA, request: ChatRequest) -> ChatReply:
    clip = request.clip
    keys = clip.key_indices(request.frames) if clip is not None else []
    visual = [clip.frames[i].image for i in keys] if clip is not None else None
    answer = engine.chat(visual, request.question, history=request.history or None,
                         max_new_tokens=request.max_new_tokens)
    return ChatReply(text=answer.text.strip(), frame_times=[clip.frames[i].time_s for i in keys] if clip else [])
