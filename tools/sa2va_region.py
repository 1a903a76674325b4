"""Tool: describe one region (an object's box on one frame) in words, or name it in a few."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine.prompts import SA2VA_SPECIAL_TOKENS
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


# A name is a short noun phrase; anything longer is the model describing, not naming, and keeps the phrase.
MAX_NAME_WORDS = 6
_ARTICLE = re.compile(r"^(a|an|the)\s+", re.IGNORECASE)


def name_regions(engine: Sa2VA, requests: list[RegionRequest]) -> list[str | None]:
    """A short name for each region ("the red dog"), seen up close (`Sa2VA.region_names`), in one batched
    generation; None where the answer is not a usable name (see `object_name`)."""
    if not requests:
        return []
    texts = engine.region_names([(r.frame.image, _pixel_box(r)) for r in requests],
                                max_new_tokens=min(16, requests[0].max_new_tokens))
    return [object_name(t) for t in texts]


def object_name(text: str) -> str | None:
    """The model's answer as an object's label: its first line without end punctuation, with "the" for its
    article ("A red dog." -> "the red dog"); None when empty, longer than MAX_NAME_WORDS words, or holding Sa2VA's
    markup (a model that never learnt the question answers "Sure, [SEG].")."""
    line = (text.strip().splitlines() or [""])[0].strip().strip(".!,;:\"'").strip()
    if any(token in line for token in SA2VA_SPECIAL_TOKENS):
        return None
    words = _ARTICLE.sub("", line).split()
    if not words or len(words) > MAX_NAME_WORDS:
        return None
    return "the " + " ".join(words)
