"""The `part_names` table: what the model calls, seen up close, the part of a mask that a jump hangs on.

Why: a demo-size model's mask often covers two objects. When one of them jumps, the union's box rises and the jump
rule (tools/track_events.py) reads a jump of the track's object, whichever of the two it is; on the 30 unseen
minutes of `bench.every_moment`, 5 of the 12 false jumps were a neighbour's jump inside a mask labelled with another
colour. The part of the mask that is off the ground is the one that jumped. Once a finished video's events are known,
the indexer names that part (agent/indexing/event_parts.py) and stores the names here, keyed by (object, track point
time), with the mark that it ran (`videos.parts_named`) and the video's events replayed, in one transaction. The rule
that reads them (index/event_store.py) needs no model, so every later replay gives the same events.

Only jumps whose mask at its highest is in two or more sizeable parts are named: a mask in one part is one object,
and what a jump of it means is the jump rule's question, not whose jump it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import duckdb

from index.crossing_names import INSERT as CROSSING_INSERT
from index.crossing_names import crossing_regions
from index.event_store import replace_video_events, video_tracks
from index.track_region import RegionName, TrackRegion, insert_names, insert_sql
from sa2va_engine.masklet import SAME_FRAME_S, Rle
from tools.mask_parts import highest_part
from tools.track_event import TrackEvent
from tools.track_events import detect_events

_UNNAMED = (
    "SELECT video_id, path FROM videos WHERE NOT parts_named AND status IN ('done', 'partial') "
    "AND list_contains(?, path) ORDER BY video_id"
)
_POINTS = (
    "SELECT time_s, mask_h, mask_w, mask_counts FROM track_points WHERE object_id = ? AND time_s BETWEEN ? AND ? "
    "AND mask_counts IS NOT NULL ORDER BY time_s"
)
_INSERT = insert_sql("part_names")


def unnamed_videos(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> list[tuple[int, str]]:
    """(video_id, path) of the given videos that are finished and have not had the pass (or have had tracks added
    since, index/gap_rows.py)."""
    return [(r[0], r[1]) for r in con.execute(_UNNAMED, [list(paths)]).fetchall()]


class EventParts(NamedTuple):
    """What the pass names in a video: the parts jumps hang on, and the parts that crossed the border inside a mask
    (index/crossing_names.py)."""

    jumps: list[TrackRegion]
    crossings: list[TrackRegion]


def event_parts(con: duckdb.DuckDBPyConnection, video_id: int) -> EventParts:
    """Both kinds of part of the video's stored tracks, from the rules alone (before any name)."""
    tracks, frame_times, parts = video_tracks(con, video_id)
    events = detect_events(tracks, frame_times) if tracks else []
    return EventParts(jumps=jump_parts(con, events), crossings=crossing_regions(tracks, frame_times, parts, events))


def jump_parts(con: duckdb.DuckDBPyConnection, events: Sequence[TrackEvent]) -> list[TrackRegion]:
    """For each jump of `events` (the video's events by the rules alone), the highest part of its mask at the
    sample where that part is highest, when the mask there is in two or more sizeable parts."""
    parts = []
    for event in events:
        if event.kind != "jump":
            continue
        best: tuple[int, TrackRegion] | None = None
        rows = con.execute(_POINTS, [event.object_id, event.start_s - SAME_FRAME_S, event.end_s + SAME_FRAME_S])
        for t, h, w, counts in rows.fetchall():
            part = highest_part(Rle(size=(h, w), counts=counts).decode())
            if part is None or (best is not None and part.box[3] >= best[0]):
                continue
            best = (part.box[3], TrackRegion(object_id=event.object_id, time_s=t, box=part.box, frame_size=(h, w))
                    if part.parts >= 2 else None)
        if best is not None and best[1] is not None:
            parts.append(best[1])
    return parts


def store_part_names(con: duckdb.DuckDBPyConnection, video_id: int, jumps: Sequence[RegionName],
                     crossings: Sequence[RegionName]) -> None:
    """Inside the caller's transaction: the names (replacing any the video had), its events replayed with them, and
    the mark that the pass ran."""
    con.execute("DELETE FROM part_names WHERE video_id = ?", [video_id])
    con.execute("DELETE FROM crossing_names WHERE video_id = ?", [video_id])
    insert_names(con, _INSERT, video_id, jumps)
    insert_names(con, CROSSING_INSERT, video_id, crossings)
    replace_video_events(con, video_id)
    con.execute("UPDATE videos SET parts_named = TRUE WHERE video_id = ?", [video_id])
