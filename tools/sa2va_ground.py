"""Tool: a grounded caption of a clip: the caption text and the phrases Sa2VA tied to a `[SEG]` mask."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine.results import SegPrompt
from sa2va_engine.sa2va import Sa2VA
from tools.clip import LLM_FRAMES, Clip


class GroundRequest(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    clip: Clip
    max_new_tokens: int = Field(default=256, ge=1)
    frames: int = Field(default=LLM_FRAMES, ge=1)


class GroundReply(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    caption: str = Field(description="the caption without markup")
    raw: str = Field(description="the model's text with <p>..</p> [SEG] kept")
    phrases: list[str] = Field(description="grounded phrases in order, each backed by a [SEG] mask")
    seg_prompts: list[SegPrompt] = Field(default_factory=list, exclude=True,
                                         description="each phrase's [SEG] state, to track it as that clause's object")


def ground_clips(engine: Sa2VA, requests: list[GroundRequest]) -> list[GroundReply]:
    """`ground_clip` of several clips: one batched generation per number of frames shown (rows of one length pad
    least; a 5-frame clip batched with single frames measured slower than the two batches apart), in turn when
    their token caps differ."""
    if not requests:
        return []
    if any(r.max_new_tokens != requests[0].max_new_tokens for r in requests):
        return [ground_clip(engine, r) for r in requests]
    out: list[GroundReply | None] = [None] * len(requests)
    for frames in dict.fromkeys(r.frames for r in requests):
        where = [i for i, r in enumerate(requests) if r.frames == frames]
        captions = engine.ground_caption_batch([requests[i].clip.key_images(frames) for i in where],
                                               max_new_tokens=requests[0].max_new_tokens)
        for i, grounded in zip(where, captions):
            out[i] = _reply(grounded)
    return out


def _reply(grounded) -> GroundReply:
    phrases = [p.phrase.strip() for p in grounded.phrases if p.phrase.strip()]
    prompts = [p for p in grounded.seg_prompts if p.phrase.strip()]
    return GroundReply(caption=grounded.text, raw=grounded.raw, phrases=phrases, seg_prompts=prompts)


def ground_clip(engine: Sa2VA, request: GroundRequest) -> GroundReply:
    """No masks here: the agent tracks the phrases through the whole clip with `track_clip`, where SAM-2
    features are shared by every phrase, so SAM-2 on the key frames would be thrown away."""
    visual = request.clip.key_images(request.frames)
    return _reply(engine.ground_caption(visual, max_new_tokens=request.max_new_tokens, with_masks=False))
