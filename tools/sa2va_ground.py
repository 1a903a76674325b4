"""Tool: a grounded caption of a clip: the caption text and the phrases Sa2VA tied to a `[SEG]` mask."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine.sa2va import Sa2VA
from tools.clip import LLM_FRAMES, Clip


class GroundRequest(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    clip: Clip
    max_new_tokens: int = Field(default=256, ge=1)
    frames: int = Field(default=LLM_FRAMES, ge=1)


class GroundReply(BaseModel):
    caption: str = Field(description="the caption without markup")
    raw: str = Field(description="the model's text with <p>..</p> [SEG] kept")
    phrases: list[str] = Field(description="grounded phrases in order, each backed by a [SEG] mask")


def ground_clips(engine: Sa2VA, requests: list[GroundRequest]) -> list[GroundReply]:
    """`ground_clip` of several clips in one batched generation (the same settings for all, else in turn)."""
    if not requests:
        return []
    first = requests[0]
    if any(r.frames != first.frames or r.max_new_tokens != first.max_new_tokens for r in requests):
        return [ground_clip(engine, r) for r in requests]
    captions = engine.ground_caption_batch([r.clip.key_images(r.frames) for r in requests],
                                           max_new_tokens=first.max_new_tokens)
    return [_reply(g) for g in captions]


def _reply(grounded) -> GroundReply:
    phrases = [p.phrase.strip() for p in grounded.phrases if p.phrase.strip()]
    return GroundReply(caption=grounded.text, raw=grounded.raw, phrases=phrases)


def ground_clip(engine: Sa2VA, request: GroundRequest) -> GroundReply:
    """No masks here: the agent tracks the phrases through the whole clip with `track_clip`, where SAM-2
    features are shared by every phrase, so SAM-2 on the key frames would be thrown away."""
    visual = request.clip.key_images(request.frames)
    return _reply(engine.ground_caption(visual, max_new_tokens=request.max_new_tokens, with_masks=False))
