"""The `object_views` table: what the model calls each object of a finished video seen up close on a few typical
frames of its whole track; an object's label is the name most of those views give (index/label_vote.py).

Why: while indexing, each chunk names its object on the frame where the object's mask is largest
(agent/indexing/chunk_analyser.py), and the label is the name most chunks gave. The largest mask is often the one
spread over a touching neighbour, so a ball beside a dog is named "the ... dog" chunk after chunk, and a vote over
chunks repeats the same bad view. Once the video is finished the whole track is known, and typical views of it can be
picked instead. Measured on the stored index of the 30 unseen minutes of `bench.every_moment` (bench/README.md,
fourteenth session): labels right 44 -> 48 of 57 with these views, with no other change to the index.

The views (`object_views`), from the object's stored masks alone: those in one sizeable part (tools/mask_parts.py;
all of them when none is), in time order, split into `VIEWS` runs of about as many masks; from each run the mask whose
area is nearest the median area of those masks. One part: a mask in two sizeable parts is over two objects. The median:
a mask spread over a neighbour is larger than the object, one that holds only part of it smaller. Spread over the
track: one bad stretch (the object half out of frame, hidden behind the pillar) gives one view, not all.

The pass (agent/indexing/object_views.py) stores the names, the labels voted again, the video's events replayed (the
jumps' owners are read against the labels, index/event_store.py) and the mark that it ran (`videos.views_named`) in
one transaction: a run killed during it stores nothing of that video's pass, and the next `sva index` does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import duckdb
import numpy as np

from index.event_store import replace_video_events
from index.label_vote import vote_labels
from index.track_region import RegionName, TrackRegion, insert_names, insert_sql
from sa2va_engine.masklet import SAME_FRAME_S, Rle
from tools.mask_parts import highest_part, mask_outline

# Views named per object. Tried on the stored index above: 7 views 48 / 57 labels right, 11 views 47.
VIEWS = 7

_UNNAMED = (
    "SELECT video_id, path FROM videos WHERE NOT views_named AND status IN ('done', 'partial') "
    "AND list_contains(?, path) ORDER BY video_id"
)
_MASKS = (
    "SELECT object_id, time_s, score, mask_h, mask_w, mask_counts FROM track_points "
    "WHERE video_id = ? AND mask_counts IS NOT NULL ORDER BY object_id, time_s, score DESC"
)
_INSERT = insert_sql("object_views")


class _Mask(NamedTuple):  # one per stored mask of the video: a tuple, not a validated model
    time_s: float
    area: int
    parts: int
    box: tuple[int, int, int, int]
    frame_size: tuple[int, int]


def unviewed_videos(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> list[tuple[int, str]]:
    """(video_id, path) of the given videos that are finished and have not had the pass since their last tracks."""
    return [(r[0], r[1]) for r in con.execute(_UNNAMED, [list(paths)]).fetchall()]


def object_views(con: duckdb.DuckDBPyConnection, video_id: int, views: int = VIEWS) -> list[TrackRegion]:
    """The views of each object of the video that has a stored mask (the module docstring's rule), by object id,
    each object's in time order."""
    masks: dict[int, list[_Mask]] = {}
    last: tuple[int, float] | None = None
    for oid, t, _score, h, w, counts in con.execute(_MASKS, [video_id]).fetchall():
        if last is not None and last[0] == oid and t - last[1] < SAME_FRAME_S:
            continue  # the same frame from the overlapping chunk: the better-scored one was read first
        last = (oid, t)
        mask = Rle(size=(h, w), counts=counts).decode()
        outline, part = mask_outline(mask), highest_part(mask)
        if outline is None or part is None:
            continue
        masks.setdefault(oid, []).append(_Mask(time_s=t, area=int(np.count_nonzero(mask)), parts=part.parts,
                                               box=outline.box, frame_size=(h, w)))
    out = []
    for oid, seen in masks.items():
        out += [TrackRegion(object_id=oid, time_s=m.time_s, box=m.box, frame_size=m.frame_size)
                for m in typical_masks(seen, views)]
    return out


def typical_masks(masks: Sequence[_Mask], views: int) -> list[_Mask]:
    """Of an object's masks in time order, up to `views` of them: see the module docstring."""
    whole = [m for m in masks if m.parts == 1] or list(masks)
    if not whole:
        return []
    median = float(np.median([m.area for m in whole]))
    runs = np.array_split(np.arange(len(whole)), min(views, len(whole)))
    return [whole[min(run, key=lambda i: (abs(whole[i].area - median), i))] for run in runs]


def store_view_names(con: duckdb.DuckDBPyConnection, video_id: int, names: Sequence[RegionName]) -> None:
    """Inside the caller's transaction: the names (replacing any the video had), the video's labels voted again with
    them, its events replayed, and the mark that the pass ran."""
    con.execute("DELETE FROM object_views WHERE video_id = ?", [video_id])
    insert_names(con, _INSERT, video_id, names)
    ids = [r[0] for r in con.execute("SELECT object_id FROM objects WHERE video_id = ?", [video_id]).fetchall()]
    vote_labels(con, ids)
    replace_video_events(con, video_id)
    con.execute("UPDATE videos SET views_named = TRUE WHERE video_id = ?", [video_id])
