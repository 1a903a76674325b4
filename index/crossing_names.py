"""The `crossing_names` table: what the model calls, up close, a part of a mask that went out of the frame (or came in)
while the rest of the mask stayed; and the enters and leaves those names give to the objects they name.

Why: a demo-size model's mask often covers two objects, so when one of them leaves, its track keeps the other and no
one leaves (tools/part_crossings.py finds the part that did). Whose leave it is, the geometry cannot say: the mask's
object is often the one that stayed. The indexer names the part on its last three samples wholly inside the frame
(first, coming in; agent/indexing/event_parts.py, with the parts jumps hang on) and stores the names here, keyed by
(object, track point time, box). The event goes to the stored object of the video whose label is the name most of
the three were given; a name no stored
object has gives no event (the part is then an object the index does not hold, or a name the model got wrong, and
neither says whose event it is). Like the jump parts' names, they are read by every replay of the video's events
(index/event_store.py), which needs no model.

Measured on the stored index of the 30 unseen minutes of `bench.every_moment` (bench/README.md, twenty-first session).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import duckdb

from index.track_region import TrackRegion, insert_sql
from sa2va_engine.masklet import Rle
from tools.mask_parts import mask_parts
from tools.part_crossings import PartCrossing, PartSample, part_crossings, voted_name
from tools.track_event import ObjectTrack, TrackEvent

INSERT = insert_sql("crossing_names")
_HAS_TABLE = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'crossing_names' AND schema_name = 'main'"
_NAMES = "SELECT object_id, time_s, x0, y0, x1, y1, name FROM crossing_names WHERE video_id = ? AND name IS NOT NULL"
_MASKS = (
    "SELECT object_id, time_s, mask_h, mask_w, mask_counts FROM track_points WHERE video_id = ? "
    "AND mask_counts IS NOT NULL ORDER BY object_id, time_s"
)
# Stored times are the decoder's; a time read back within this is the same track point.
_SAME_TIME_S = 1e-3


def crossing_candidates(con: duckdb.DuckDBPyConnection, video_id: int, frame_times: Sequence[float],
                        own_events: Sequence[TrackEvent]) -> list[tuple[PartCrossing, tuple[int, int]]]:
    """Every part crossing of the video's stored tracks (`tools/part_crossings.py`), against the rules' own events
    of each track (`own_events`, the video's events), with the size of the frames its masks are stored at."""
    samples: dict[int, list[PartSample]] = defaultdict(list)
    sizes: dict[int, tuple[int, int]] = {}
    for oid, t, h, w, counts in con.execute(_MASKS, [video_id]).fetchall():
        if h and w:
            samples[oid].append(PartSample(t, mask_parts(Rle(size=(h, w), counts=counts).decode())))
            sizes[oid] = (h, w)
    own: dict[int, list[TrackEvent]] = defaultdict(list)
    for event in own_events:
        own[event.object_id].append(event)
    return [(c, sizes[oid]) for oid, points in samples.items()
            for c in part_crossings(oid, sizes[oid], points, frame_times, own[oid])]


def crossing_regions(con: duckdb.DuckDBPyConnection, video_id: int, frame_times: Sequence[float],
                     own_events: Sequence[TrackEvent]) -> list[TrackRegion]:
    """What the naming pass asks about: each part crossing's part, where it is named."""
    return [TrackRegion(object_id=c.event.object_id, time_s=t, box=box, frame_size=size)
            for c, size in crossing_candidates(con, video_id, frame_times, own_events) for t, box in c.views]


def named_crossings(con: duckdb.DuckDBPyConnection, video_id: int, tracks: Sequence[ObjectTrack],
                    frame_times: Sequence[float], events: Sequence[TrackEvent],
                    labels: dict[int, str]) -> list[TrackEvent]:
    """The part crossings whose part was named after a stored object of the video, as that object's events; none
    that object already has (`events`, the video's events so far: one of that kind overlapping in time)."""
    if not con.execute(_HAS_TABLE).fetchone()[0]:
        return []  # a migration older than the table (v23) replaying events
    names = con.execute(_NAMES, [video_id]).fetchall()
    if not names:
        return []
    by_label: dict[str, list[int]] = defaultdict(list)
    for oid, label in sorted(labels.items()):
        if label:
            by_label[_words(label)].append(oid)
    kept = list(events)
    added: list[TrackEvent] = []
    for crossing, _ in crossing_candidates(con, video_id, frame_times, events):
        name = _name_of(crossing, names)
        targets = by_label.get(_words(name), []) if name else []
        if not targets:
            continue
        target = _nearest(targets, crossing, tracks)
        event = crossing.event
        if any(e.object_id == target and e.kind == event.kind and e.start_s <= event.end_s and event.start_s <= e.end_s
               for e in kept):
            continue
        parent = event.object_id
        event = event.model_copy(update={
            "object_id": target,
            "rule": f"{event.rule}; named {name!r} up close" + (
                f", in the mask of {labels.get(parent) or 'another object'!r}" if parent != target else "")})
        kept.append(event)
        added.append(event)
    return added


def _words(text: str) -> str:
    return " ".join(text.lower().split())


def _name_of(crossing: PartCrossing, names: Sequence[tuple]) -> str | None:
    """The name the crossing's views were given most (`voted_name`)."""
    return voted_name([next((name for oid, t, x0, y0, x1, y1, name in names
                             if oid == crossing.event.object_id and abs(t - view_t) <= _SAME_TIME_S
                             and (round(x0), round(y0), round(x1), round(y1)) == tuple(box)), None)
                       for view_t, box in crossing.views])


def _nearest(targets: Sequence[int], crossing: PartCrossing, tracks: Sequence[ObjectTrack]) -> int:
    """Of several objects with the name, the one whose box overlaps the named part most where it was named (the
    mask's own object when it is one of them); the first otherwise."""
    if len(targets) == 1 or crossing.event.object_id in targets:
        return crossing.event.object_id if crossing.event.object_id in targets else targets[0]
    time_s, box = crossing.views[0]
    boxes = {t.object_id: [p.box for p in t.points if abs(p.time_s - time_s) <= _SAME_TIME_S]
             for t in tracks if t.object_id in targets}
    return max(targets, key=lambda oid: max((_overlap(b, box) for b in boxes.get(oid, [])), default=0.0))


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)
