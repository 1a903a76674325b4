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
    text = engine.region_caption(request.frame.image, _pixel_box(request), max_new_tokens=request.max_new_tokens)
    return RegionReply(text=text.strip(), time_s=request.frame.time_s)


def describe_regions(engine: Sa2VA, requests: list[RegionRequest]) -> list[RegionReply]:
    """`describe_region` of several regions (e.g. every new object of a chunk) in one batched generation where the
    engine batches prompts; greedy, so each reply is the one `describe_region` gives (tests/test_region_batch.py)."""
    if len({r.max_new_tokens for r in requests}) > 1:
        return [describe_region(engine, r) for r in requests]
    texts = engine.region_captions([(r.frame.image, _pixel_box(r)) for r in requests],
                                   max_new_tokens=requests[0].max_new_tokens if requests else 48)
    return [RegionReply(text=t.strip(), time_s=r.frame.time_s) for t, r in zip(texts, requests)]


def _pixel_box(request: RegionRequest) -> tuple[int, int, int, int]:
    return tuple(int(round(v)) for v in request.box)
