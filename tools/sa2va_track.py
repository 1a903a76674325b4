"""Tool: referring tracking of several expressions through a clip, one masklet each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine.errors import InputError
from sa2va_engine.key_frames import PROMPT_EVERY_FRAME_HELP
from sa2va_engine.masklet import Masklet
from sa2va_engine.sa2va import Sa2VA
from tools.clip import LLM_FRAMES, Clip
from tools.video_decode import DecodedFrame


class TrackRequest(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    clip: Clip
    expressions: list[str] = Field(min_length=1)
    key_frames: int = Field(default=LLM_FRAMES, ge=1, description="frames the LLM sees, spread over the clip")
    prompt_every_frame: bool = Field(default=False, description=PROMPT_EVERY_FRAME_HELP)


class TrackReply(BaseModel):
    masklets: list[Masklet] = Field(description="one per expression, in order; one point per clip frame")


def track_clip(engine: Sa2VA, request: TrackRequest) -> TrackReply:
    """All expressions go through one streaming pass, so SAM-2 encodes each frame once for all of them."""
    clip = request.clip
    masklets = engine.track(clip.images(), request.expressions, key_frames=clip.key_indices(request.key_frames),
                            frame_times=clip.times(), prompt_every_frame=request.prompt_every_frame)
    return TrackReply(masklets=masklets)


def track_stream(engine: Sa2VA, frames: Iterable[DecodedFrame], expressions: Sequence[str],
                 prompt_every_frame: bool = False) -> TrackReply:
    """Track through a frame stream of any length (e.g. a whole video): frames are consumed one at a time and
    only the masks' RLE is kept; the LLM sees the first few frames. ``prompt_every_frame``: as `Sa2VA.track`."""
    if not expressions:
        raise InputError("track: give at least one expression")
    return TrackReply(masklets=engine.track(frames, list(expressions), prompt_every_frame=prompt_every_frame))
