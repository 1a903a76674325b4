"""One stored text that matched a search: a chunk caption, a grounded phrase or an object description."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TextKind = Literal["caption", "phrase", "description"]


class SearchHit(BaseModel):
    video_path: str
    video_id: int
    chunk_index: int
    kind: TextKind
    object_id: int | None = Field(description="set for phrases and descriptions")
    start_s: float = Field(description="seconds; for phrases, the first frame the object was present")
    end_s: float = Field(description="seconds; for phrases, the last frame the object was present")
    text: str
    score: float = Field(description="cosine similarity to the query, in [-1, 1]")
