"""Tool: referring tracking of several expressions through a clip, one masklet each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sa2va_engine.errors import InputError
from sa2va_engine.key_frames import PROMPT_EVERY_FRAME_HELP
from sa2va_engine.masklet import Masklet
from sa2va_engine.results import SegPrompt
from sa2va_engine.sa2va import Sa2VA, TrackInput
from tools.clip import LLM_FRAMES, Clip
from tools.mask_colour import with_colours
from tools.video_decode import DecodedFrame


class TrackRequest(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    clip: Clip
    expressions: list[str] = Field(default_factory=list)
    key_frames: int = Field(default=LLM_FRAMES, ge=1, description="frames the LLM sees, spread over the clip")
    prompt_every_frame: bool = Field(default=False, description=PROMPT_EVERY_FRAME_HELP)
    seg_prompts: list[SegPrompt] = Field(default_factory=list, description="[SEG] states of a grounded caption of "
                                         "this clip (`GroundReply.seg_prompts`), tracked after the expressions")

    @model_validator(mode="after")
    def _something_to_track(self) -> "TrackRequest":
        if not self.expressions and not self.seg_prompts:
            raise ValueError("give at least one expression (or grounded [SEG] prompt) to track")
        return self


class TrackReply(BaseModel):
    masklets: list[Masklet] = Field(description="one per expression, then one per seg prompt, in order; one point "
                                    "per clip frame")


def track_clip(engine: Sa2VA, request: TrackRequest, frame_batch: int = 1) -> TrackReply:
    """All expressions go through one streaming pass, so SAM-2 encodes each frame once for all of them
    (``frame_batch`` frames at a time)."""
    return track_clips(engine, [request], frame_batch)[0]


def track_clips(engine: Sa2VA, requests: list[TrackRequest], frame_batch: int = 1) -> list[TrackReply]:
    """`track_clip` of several clips, SAM-2's image encoder running over ``frame_batch`` frames at a time across
    the clips (several chunks' frames in one batch); each reply is the clip's own up to float rounding."""
    inputs = [TrackInput(r.clip.images(), r.expressions, key_frames=r.clip.key_indices(r.key_frames),
                         frame_times=r.clip.times(), prompt_every_frame=r.prompt_every_frame,
                         seg_prompts=tuple(r.seg_prompts)) for r in requests]
    # Each mask's colour on its frame goes with it: the event rules tell a mask that slid onto a neighbour by it.
    return [TrackReply(masklets=with_colours(masklets, r.clip.images()))
            for r, masklets in zip(requests, engine.track_many(inputs, frame_batch))]


def track_stream(engine: Sa2VA, frames: Iterable[DecodedFrame], expressions: Sequence[str],
                 prompt_every_frame: bool = False) -> TrackReply:
    """Track through a frame stream of any length (e.g. a whole video): frames are consumed one at a time and
    only the masks' RLE is kept; the LLM sees the first few frames. ``prompt_every_frame``: as `Sa2VA.track`."""
    if not expressions:
        raise InputError("track: give at least one expression")
    return TrackReply(masklets=engine.track(frames, list(expressions), prompt_every_frame=prompt_every_frame))
