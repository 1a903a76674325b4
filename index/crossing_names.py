"""The `crossing_names` table: what the model calls, up close, a part of a mask that went out of the frame (or came in)
while the rest of the mask stayed; and the enters and leaves those names give to the objects they name.

Why: a demo-size model's mask often covers two objects, so when one of them leaves, its track keeps the other and no
one leaves (tools/part_crossings.py finds the part that did). Whose leave it is, the geometry cannot say: the mask's
object is often the one that stayed. The indexer names the part on its last three samples wholly inside the frame
(first, coming in; agent/indexing/event_parts.py, with the parts jumps hang on) and stores the names here, keyed by
(object, track point time, box). The event goes to the stored object of the video whose label is the name most of
the three were given; a name no stored object has gives no event (the part is then an object the index does not hold,
or a name the model got wrong, and neither says whose event it is). Like the jump parts' names, they are read by every replay of the video's events
(index/event_store.py), which needs no model.

The same names settle whose a track's own enter or leave is: a small tracker's mask can slide from its object onto
another and follow that one out (a track labelled "the red box" whose mask was on the yellow ball as the ball left).
Each own enter and leave is named on the track's last (first) samples wholly inside within a second of it; named in
another colour than the track's label, after another stored object of the video (or the name's colour alone, when one
other stored object has it: kinds are what the model names worst), it is that object's. A name in the label's colour,
or after nothing stored, leaves it where the rules put it.

Measured on the 30 unseen minutes of `bench.every_moment` (bench/README.md, twenty-first session): enters and leaves
asked by name 0.750 -> 0.864 recall, precision 0.943 -> 0.950 (one of the 38 found by the same at query time,
agent/query/subject_crossings.py); nothing else moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import duckdb

from index.track_region import TrackRegion, insert_sql
from sa2va_engine.masklet import SAME_FRAME_S
from tools.colour_words import colours_differ, colours_in
from tools.part_crossings import PartCrossing, PartSample, own_crossing, part_crossings, voted_name
from tools.track_event import ObjectTrack, TrackEvent

INSERT = insert_sql("crossing_names")
_HAS_TABLE = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'crossing_names' AND schema_name = 'main'"
_NAMES = "SELECT object_id, time_s, x0, y0, x1, y1, name FROM crossing_names WHERE video_id = ? AND name IS NOT NULL"


def crossing_candidates(tracks: Sequence[ObjectTrack], frame_times: Sequence[float],
                        parts: dict[int, list[PartSample]], own_events: Sequence[TrackEvent],
                        ) -> list[tuple[PartCrossing, tuple[int, int]]]:
    """What is named, with the size of the frames the masks are stored at: every part crossing of the video's stored
    tracks (`tools/part_crossings.py`, `parts`: each object's mask parts, index/event_store.py `video_tracks`), against
    the rules' own events of each track (`own_events`, the video's events), and each of those own enters and leaves
    (`own_crossing`)."""
    own: dict[int, list[TrackEvent]] = defaultdict(list)
    for event in own_events:
        own[event.object_id].append(event)
    found = [(c, track.frame_size) for track in tracks
             for c in part_crossings(track.object_id, track.frame_size, parts.get(track.object_id, []), frame_times,
                                     own[track.object_id])]
    for track in tracks:
        for event in own[track.object_id]:
            if event.kind in ("enters", "leaves") and (c := own_crossing(track, event)) is not None:
                found.append((c, track.frame_size))
    return found


def crossing_regions(tracks: Sequence[ObjectTrack], frame_times: Sequence[float], parts: dict[int, list[PartSample]],
                     own_events: Sequence[TrackEvent]) -> list[TrackRegion]:
    """What the naming pass asks about: where each crossing is named (one region per view, each asked once)."""
    regions = {(c.event.object_id, t, box): TrackRegion(object_id=c.event.object_id, time_s=t, box=box, frame_size=size)
               for c, size in crossing_candidates(tracks, frame_times, parts, own_events)
               for t, box in c.views}
    return list(regions.values())


def crossing_owners(con: duckdb.DuckDBPyConnection, video_id: int, tracks: Sequence[ObjectTrack],
                    frame_times: Sequence[float], parts: dict[int, list[PartSample]], events: Sequence[TrackEvent],
                    labels: dict[int, str]) -> list[TrackEvent]:
    """The video's events (`events`, the rules' own) with what the crossing names say: a part crossing whose part was
    named after a stored object of the video is that object's; a track's own enter or leave named in another colour
    than its label, after another stored object of the video, is that object's (the track's mask had slid onto it and
    followed it out). Neither when that object has an event of that kind overlapping in time already."""
    if not con.execute(_HAS_TABLE).fetchone()[0]:
        return list(events)  # a migration older than the table (v23) replaying events
    names = con.execute(_NAMES, [video_id]).fetchall()
    if not names:
        return list(events)
    by_label: dict[str, list[int]] = defaultdict(list)
    for oid, label in sorted(labels.items()):
        if label:
            by_label[_words(label)].append(oid)
    kept = list(events)
    for crossing, _ in crossing_candidates(tracks, frame_times, parts, events):
        name = _name_of(crossing, names)
        targets = by_label.get(_words(name), []) if name else []
        event, parent = crossing.event, crossing.event.object_id
        if crossing.whole:
            if not name or not colours_differ(labels.get(parent) or "", name):
                continue
            targets = [t for t in targets if t != parent] or _one_of_colour(name, labels, parent)
        if not targets:
            continue
        target = _nearest(targets, crossing, tracks)
        if any(e.object_id == target and e.kind == event.kind and e.start_s <= event.end_s and event.start_s <= e.end_s
               for e in kept):
            continue
        moved = event.model_copy(update={
            "object_id": target,
            "rule": f"{event.rule}; named {name!r} up close" + (
                f", in the mask of {labels.get(parent) or 'another object'!r}" if parent != target else "")})
        if crossing.whole:
            kept.remove(event)
        kept.append(moved)
    return kept


def _one_of_colour(name: str, labels: dict[int, str], parent: int) -> list[int]:
    """The one other stored object of the video whose label has the name's colours, when only one has: colours are
    what the model names best up close (0.98 of labels), kinds its weakest (a yellow ball called "the yellow box")."""
    colours = colours_in(name)
    same = [oid for oid, label in sorted(labels.items()) if oid != parent and colours and colours_in(label or "") == colours]
    return same if len(same) == 1 else []


def _words(text: str) -> str:
    return " ".join(text.lower().split())


def _name_of(crossing: PartCrossing, names: Sequence[tuple]) -> str | None:
    """The name the crossing's views were given most (`voted_name`)."""
    return voted_name([next((name for oid, t, x0, y0, x1, y1, name in names
                             if oid == crossing.event.object_id and abs(t - view_t) <= SAME_FRAME_S
                             and (round(x0), round(y0), round(x1), round(y1)) == tuple(box)), None)
                       for view_t, box in crossing.views])


def _nearest(targets: Sequence[int], crossing: PartCrossing, tracks: Sequence[ObjectTrack]) -> int:
    """Of several objects with the name, the one whose box overlaps the named part most where it was named (the
    mask's own object when it is one of them); the first otherwise."""
    if crossing.event.object_id in targets:
        return crossing.event.object_id
    if len(targets) == 1:
        return targets[0]
    time_s, box = crossing.views[0]
    boxes = {t.object_id: [p.box for p in t.points if abs(p.time_s - time_s) <= SAME_FRAME_S]
             for t in tracks if t.object_id in targets}
    return max(targets, key=lambda oid: max((_overlap(b, box) for b in boxes.get(oid, [])), default=0.0))


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)
