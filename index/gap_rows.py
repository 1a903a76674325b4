"""The rows the second tracking pass reads and writes (agent/indexing/gap_fill.py): which stored objects a finished
video's chunks lack, and the tracks the pass found for them.

The pass's finds for a video are stored in one transaction with the mark that it ran (`videos.gaps_filled`) and the
video's events replayed over them, so a run killed part way through the pass stores none of it, and the next run
does the whole pass again.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
from pydantic import BaseModel, ConfigDict

from index.event_store import replace_video_events
from index.object_merge import merge_same_objects, update_sightings
from index.track_rows import TRACK_COLUMNS, track_point_from_row
from sa2va_engine.masklet import TrackPoint

_UNFILLED = (
    "SELECT video_id, path FROM videos WHERE NOT gaps_filled AND status IN ('done', 'partial') "
    "AND list_contains(?, path) ORDER BY video_id"
)
_CHUNKS = "SELECT chunk_index, start_s, end_s FROM chunks WHERE video_id = ? AND status = 'done' ORDER BY chunk_index"
_POINTS = f"SELECT object_id, chunk_index, {TRACK_COLUMNS} FROM track_points WHERE video_id = ? AND x0 IS NOT NULL"
_INSERT_POINTS = (
    "INSERT INTO track_points SELECT unnest(?::BIGINT[]), ?, unnest(?::INTEGER[]), unnest(?::DOUBLE[]), "
    "unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::FLOAT[]), unnest(?::FLOAT[]), "
    "unnest(?::INTEGER[]), unnest(?::INTEGER[]), unnest(?::INTEGER[]), unnest(?::VARCHAR[]), unnest(?::FLOAT[][])"
)


class ChunkGaps(BaseModel):
    """One done chunk: the stored objects with no track in it, and the present points it stored, by object."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chunk_index: int
    start_s: float
    end_s: float
    missing: list[int]
    stored: dict[int, list[TrackPoint]]


class VideoGaps(BaseModel):
    """A finished video's objects (label, the times each is seen) and its chunks' gaps."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    video_id: int
    path: str
    labels: dict[int, str]
    seen_s: dict[int, list[float]]
    chunks: list[ChunkGaps]


class Fill(BaseModel):
    """Present points the pass found for one object in one chunk."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    object_id: int
    chunk_index: int
    points: list[TrackPoint]


def unfilled_videos(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> list[tuple[int, str]]:
    """(video_id, path) of the given videos that are finished (done or partial) and have not had the pass."""
    return [(r[0], r[1]) for r in con.execute(_UNFILLED, [list(paths)]).fetchall()]


def video_gaps(con: duckdb.DuckDBPyConnection, video_id: int, path: str) -> VideoGaps:
    labels = dict(con.execute("SELECT object_id, label FROM objects WHERE video_id = ? ORDER BY object_id",
                              [video_id]).fetchall())
    stored: dict[int, dict[int, list[TrackPoint]]] = {}
    seen_s: dict[int, list[float]] = {oid: [] for oid in labels}
    for row in con.execute(_POINTS, [video_id]).fetchall():
        point = track_point_from_row(row[2:])
        stored.setdefault(row[1], {}).setdefault(row[0], []).append(point)
        seen_s.setdefault(row[0], []).append(point.time_s)
    chunks = []
    for k, start, end in con.execute(_CHUNKS, [video_id]).fetchall():
        here = stored.get(k, {})
        chunks.append(ChunkGaps(chunk_index=k, start_s=start, end_s=end, missing=[o for o in labels if o not in here],
                                stored=here))
    return VideoGaps(video_id=video_id, path=path, labels=labels, seen_s={o: sorted(t) for o, t in seen_s.items()},
                     chunks=chunks)


def store_fills(con: duckdb.DuckDBPyConnection, video_id: int, fills: Sequence[Fill]) -> None:
    """Inside the caller's transaction: the points, the objects' first and last sighting, the video's events
    replayed over them, and the mark that the pass ran."""
    cols: dict[str, list] = {
        c: [] for c in ("oid", "k", "t", "score", "x0", "y0", "x1", "y1", "area", "h", "w", "c", "colour")}
    for fill in fills:
        for p in fill.points:
            if not p.present or p.box is None or p.mask is None:
                continue
            for name, value in zip(cols, (fill.object_id, fill.chunk_index, p.time_s, p.score, *p.box, p.area,
                                          p.mask.size[0], p.mask.size[1], p.mask.counts,
                                          list(p.colour) if p.colour is not None else None)):
                cols[name].append(value)
    if cols["oid"]:
        con.execute(_INSERT_POINTS, [cols["oid"], video_id, *(cols[c] for c in list(cols)[1:])])
        update_sightings(con, video_id)
        # New tracks can hold new jumps, whose parts are not named yet (index/part_names.py), and new views of their
        # objects (index/object_views.py).
        con.execute("UPDATE videos SET parts_named = FALSE, views_named = FALSE WHERE video_id = ?", [video_id])
    # The pass can grow two stored objects of one label into each other, or find that two were one all along.
    if merge_same_objects(con, video_id):
        con.execute("UPDATE videos SET views_named = FALSE WHERE video_id = ?", [video_id])  # a merged track's views
    replace_video_events(con, video_id)
    con.execute("UPDATE videos SET gaps_filled = TRUE WHERE video_id = ?", [video_id])
