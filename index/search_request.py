"""The search tool the query graph calls: semantic search over the index (captions, grounded phrases, object
descriptions), pydantic in and out. It lives in the index layer because it reads the index: tools (below the
index) never import it (the import-linter contract in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from index.reader import IndexReader
from index.search_hit import SearchHit


class SearchRequest(BaseModel):
    db: Path
    text: str
    k: int = Field(default=50, ge=1)
    video: str | None = Field(default=None, description="only this video (a path as stored in the index)")
    start_s: float | None = Field(default=None, description="only texts overlapping [start_s, end_s], seconds")
    end_s: float | None = None


class SearchReply(BaseModel):
    hits: list[SearchHit]


def search_index(request: SearchRequest, reader: IndexReader | None = None) -> SearchReply:
    reader = reader or IndexReader(request.db)
    hits = reader.search(request.text, k=request.k, video=request.video, start_s=request.start_s, end_s=request.end_s)
    return SearchReply(hits=hits)
