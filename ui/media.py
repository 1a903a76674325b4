"""Which files the dashboard may serve: only videos that are rows of the index.

Nothing that arrives with a request (an address's query parameters, a widget value) is used as a path.
A video is named by its `video_id`, looked up in the index, and only the path stored in that row is
opened; a moment's path, which comes from the query graph, is served only if it is a path the index holds.
Streamlit then hands the browser an opaque media URL, never a file name. When the operator named roots
(`sva ui --roots`), the file must also resolve inside one of them (ui/access_gate.py).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from index.reader import IndexReader
from index.summaries import VideoSummary
from tools.video_error import VideoError
from ui.access_gate import check_inside_roots
from ui.user_errors import DashboardError

# st.video loads the whole file into the server's memory; past this size only overlay clips are played.
MAX_FULL_VIDEO_BYTES = 300 * 1024 * 1024


class IndexedVideo(BaseModel):
    """A video row of the index whose file has been checked to still be there."""

    summary: VideoSummary
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def library_by_id(reader: IndexReader) -> dict[int, VideoSummary]:
    return {v.video_id: v for v in reader.library()}


def video_by_id(reader: IndexReader, video_id: int | str | None) -> VideoSummary:
    """The index row of ``video_id`` (an int, or the text of one from the address)."""
    try:
        vid = int(str(video_id))
    except ValueError:
        raise DashboardError(f"{str(video_id)[:40]!r} is not a video id") from None
    found = library_by_id(reader).get(vid)
    if found is None:
        raise DashboardError(f"no video with id {vid} in the index")
    return found


def video_by_path(reader: IndexReader, path: str) -> VideoSummary:
    """The index row whose stored path is exactly ``path`` (how a moment names its video)."""
    for summary in reader.library():
        if summary.path == path:
            return summary
    raise DashboardError(f"{Path(path).name} is not in the index")


def servable(summary: VideoSummary) -> IndexedVideo:
    """The row's file, if it is still a readable file at the indexed path (else a one-line VideoError)."""
    path = Path(summary.path)
    check_inside_roots(path, "video")
    if not path.is_file():
        raise VideoError(summary.path, "the file has moved or been deleted since it was indexed")
    return IndexedVideo(summary=summary, path=path)
