"""The `events` table: what each object did, computed from the stored tracks when a video finishes indexing.

Events are a function of the stored rows alone (track boxes, or where a mask is stored the box of its sizeable
parts and the bottom of its highest part, the mask's colour where it was measured (v16 on), the
chunks' sampled frame times, and the names of the parts jumps hang on, index/part_names.py, and of the parts that
crossed the border inside a mask, index/crossing_names.py), read back inside the
transaction that finishes the video, so a resumed run, an uninterrupted one and the migrations that replay an older
index all store the same events. No model, no video
decoding (the masks are the stored RLE): the rules are `tools/track_events.py`.

Why at finish and not per chunk: an object's events reach over chunk boundaries (a jump across the overlap,
a disappearance that is only one when the object does not come back), so a video's events are computed once
its chunks are all processed, and replaced whenever a rerun finishes it again.
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb

from index.crossing_names import crossing_owners
from sa2va_engine.masklet import SAME_FRAME_S, Rle
from tools.colour_words import colours_differ
from tools.mask_parts import mask_parts
from tools.part_crossings import PartSample
from tools.track_event import STATE_KINDS, ObjectTrack, TrackEvent
from tools.track_events import box_point, detect_events

_TRACK_BOXES = (
    "SELECT object_id, time_s, x0, y0, x1, y1, score, area, mask_h, mask_w, mask_counts, {colour} FROM track_points "
    "WHERE video_id = ? AND x0 IS NOT NULL ORDER BY object_id, time_s"
)
_HAS_COLOUR = "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'track_points' AND column_name = 'colour'"
_FRAME_TIMES = "SELECT frame_times FROM chunks WHERE video_id = ? AND status = 'done' ORDER BY chunk_index"
_INSERT = (
    "INSERT INTO events (video_id, object_id, other_object_id, kind, start_s, end_s, score, evidence_s, rule{size}) "
    "SELECT ?, unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::DOUBLE[]), "
    "unnest(?::DOUBLE[]), unnest(?::FLOAT[]), unnest(?::DOUBLE[][]), unnest(?::VARCHAR[]){sizes}"
)
_INSERT_EVENTS = _INSERT.format(size="", sizes="")  # the table before v22
_INSERT_SIZED_EVENTS = _INSERT.format(size=", size", sizes=", unnest(?::DOUBLE[])")
_HAS_SIZE = "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'events' AND column_name = 'size'"
_SET_SIZE = (
    "UPDATE events SET size = s.size FROM (SELECT unnest(?::BIGINT[]) AS object_id, unnest(?::VARCHAR[]) AS kind, "
    "unnest(?::DOUBLE[]) AS start_s, unnest(?::DOUBLE[]) AS end_s, unnest(?::DOUBLE[]) AS size) s "
    "WHERE events.video_id = ? AND events.object_id = s.object_id AND events.kind = s.kind "
    "AND events.start_s = s.start_s AND events.end_s = s.end_s"
)
_PART_NAMES = (
    "SELECT object_id, time_s, name FROM part_names WHERE video_id = ? AND name IS NOT NULL ORDER BY object_id, time_s"
)
_HAS_PART_NAMES = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'part_names' AND schema_name = 'main'"


class VideoTracks(NamedTuple):
    """A video's stored tracks as the rules read them, from one decoding of its masks."""

    tracks: list[ObjectTrack]  # every object's present boxes, by object id, in time order
    frame_times: list[float]  # every sampled frame time of the video
    parts: dict[int, list[PartSample]]  # each object's mask parts per masked sample (tools/part_crossings.py)


def video_tracks(con: duckdb.DuckDBPyConnection, video_id: int, with_parts: bool = True) -> VideoTracks:
    """The video's `VideoTracks`; without `with_parts`, no parts (empty): the migrations that redo only states or
    sizes read no part, and splitting every mask of the index into parts would be their costliest step."""
    tracks: dict[int, ObjectTrack] = {}
    parts: dict[int, list[PartSample]] = {}
    # A migration older than the colours (v16) replaying events reads none.
    query = _TRACK_BOXES.format(colour="colour" if con.execute(_HAS_COLOUR).fetchone()[0] else "NULL")
    for oid, t, x0, y0, x1, y1, score, area, h, w, counts, colour in con.execute(query, [video_id]).fetchall():
        track = tracks.get(oid)
        if track is None:
            track = tracks[oid] = ObjectTrack(object_id=oid, frame_size=(h or 0, w or 0), points=[])
        mask = Rle(size=(h, w), counts=counts).decode() if counts and h and w else None
        track.points.append(box_point(t, (x0, y0, x1, y1), score, mask, area, colour))
        if mask is not None and with_parts:
            parts.setdefault(oid, []).append(PartSample(t, mask_parts(mask)))
    times: list[float] = []
    for (chunk_times,) in con.execute(_FRAME_TIMES, [video_id]).fetchall():
        times.extend(chunk_times or [])
    times.sort()
    distinct = [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] > SAME_FRAME_S]
    return VideoTracks([t for t in tracks.values() if t.frame_size[0] and t.frame_size[1]], distinct, parts)


_FINISHED_VIDEOS = "SELECT video_id FROM videos WHERE status IN ('done', 'partial') ORDER BY video_id"


def replace_all_events(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """`replace_video_events` for every finished video (what a migration replays); (videos, events stored)."""
    videos = [video_id for (video_id,) in con.execute(_FINISHED_VIDEOS).fetchall()]
    return len(videos), sum(replace_video_events(con, video_id) for video_id in videos)


def add_all_states(con: duckdb.DuckDBPyConnection) -> None:
    """`add_video_states` for every finished video (schema v19)."""
    for (video_id,) in con.execute(_FINISHED_VIDEOS).fetchall():
        add_video_states(con, video_id)


def replace_video_events(con: duckdb.DuckDBPyConnection, video_id: int) -> int:
    """Recompute the video's events from its stored rows (inside the caller's transaction); returns how many."""
    con.execute("DELETE FROM events WHERE video_id = ?", [video_id])
    stored = video_tracks(con, video_id)
    events = detect_events(stored.tracks, stored.frame_times) if stored.tracks else []
    labels = _labels(con, video_id)
    events = owned_events(events, labels, _part_names(con, video_id))
    events = crossing_owners(con, video_id, stored.tracks, stored.frame_times, stored.parts, events, labels)
    insert_events(con, video_id, events)
    return len(events)


def add_video_states(con: duckdb.DuckDBPyConnection, video_id: int) -> int:
    """Recompute only the video's states (visible, moving, still, near, the sides) from its stored rows, leaving its other
    events as they are: what an index stored before the states gets (schema v19). Returns how many."""
    con.execute("DELETE FROM events WHERE video_id = ? AND list_contains(?, kind)", [video_id, list(STATE_KINDS)])
    tracks, frame_times, _ = video_tracks(con, video_id, with_parts=False)
    states = [e for e in detect_events(tracks, frame_times) if e.kind in STATE_KINDS] if tracks else []
    insert_events(con, video_id, states)
    return len(states)


def owned_events(events: list[TrackEvent], labels: dict[int, str],
                 part_names: dict[int, list[tuple[float, str]]]) -> list[TrackEvent]:
    """The jumps whose part off the ground (index/part_names.py) the model named in a colour the object's label
    does not have are a neighbour's jump inside the object's mask: left out. A jump whose part has a name that
    agrees says so in its rule. `part_names`: (time_s, name) by object id."""
    kept = []
    for event in events:
        names = [n for t, n in part_names.get(event.object_id, ())
                 if event.start_s - SAME_FRAME_S <= t <= event.end_s + SAME_FRAME_S] if event.kind == "jump" else []
        label = labels.get(event.object_id, "")
        if any(colours_differ(label, n) for n in names):
            continue
        if names:
            event = event.model_copy(update={"rule": f"{event.rule}; the part off the ground, named up close: "
                                                      f"{', '.join(repr(n) for n in names)}"})
        kept.append(event)
    return kept


def _labels(con: duckdb.DuckDBPyConnection, video_id: int) -> dict[int, str]:
    return dict(con.execute("SELECT object_id, label FROM objects WHERE video_id = ?", [video_id]).fetchall())


def _part_names(con: duckdb.DuckDBPyConnection, video_id: int) -> dict[int, list[tuple[float, str]]]:
    out: dict[int, list[tuple[float, str]]] = {}
    if not con.execute(_HAS_PART_NAMES).fetchone()[0]:
        return out  # a migration older than the table (v14) replaying events
    for oid, t, name in con.execute(_PART_NAMES, [video_id]).fetchall():
        out.setdefault(oid, []).append((t, name))
    return out


def insert_events(con: duckdb.DuckDBPyConnection, video_id: int, events: list[TrackEvent]) -> None:
    if not events:
        return
    values = [
        video_id, [e.object_id for e in events], [e.other_object_id for e in events], [e.kind for e in events],
        [e.start_s for e in events], [e.end_s for e in events], [e.score for e in events],
        [list(e.evidence_s) for e in events], [e.rule for e in events],
    ]
    # A migration older than the sizes (v22) replaying events stores none.
    if con.execute(_HAS_SIZE).fetchone()[0]:
        con.execute(_INSERT_SIZED_EVENTS, [*values, [e.size for e in events]])
    else:
        con.execute(_INSERT_EVENTS, values)


def add_all_sizes(con: duckdb.DuckDBPyConnection) -> None:
    """Schema v22: the size of each stored event that has one (a jump's height, a motion's top speed), from the rules
    run again on the stored tracks, set on the stored event they give again (same object, kind and span). The events
    themselves stay as they are; one the rules no longer give keeps no size."""
    for (video_id,) in con.execute(_FINISHED_VIDEOS).fetchall():
        tracks, frame_times, _ = video_tracks(con, video_id, with_parts=False)
        sized = [e for e in detect_events(tracks, frame_times) if e.size is not None] if tracks else []
        if sized:
            con.execute(_SET_SIZE, [[e.object_id for e in sized], [e.kind for e in sized],
                                    [e.start_s for e in sized], [e.end_s for e in sized],
                                    [e.size for e in sized], video_id])
