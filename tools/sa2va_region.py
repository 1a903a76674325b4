"""Tool: describe one region (an object's box on one frame) in words."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine.sa2va import Sa2VA
from tools.video_decode import DecodedFrame


class RegionRequest(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    frame: DecodedFrame
    box: tuple[float, float, float, float] = Field(description="x0, y0, x1, y1 in pixels of the frame")
    max_new_tokens: int = Field(default=48, ge=1)


class RegionReply(BaseModel):
    text: str
    time_s: float


def describe_region(engine: Sa2VA, request: RegionRequest) -> RegionReply:
    box = tuple(int(round(v)) for v in request.box)
    text = engine.region_caption(request.frame.image, box, max_new_tokens=request.max_new_tokens)
    return RegionReply(text=text.strip(), time_s=request.frame.time_s)
