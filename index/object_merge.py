"""Stored objects of one video that turn out to be one object are merged into the one seen first.

Why: the second tracking pass (agent/indexing/gap_fill.py) gives a track it finds in a chunk to the stored object of
that label seen nearest in time, judged by where the objects were seen before the pass. Filling a long gap between
two stored objects of one label then grows both towards each other, and they meet on a chunk overlap with the same
masks on both sides (measured on 30 unseen minutes: three such pairs, mask IoU 0.99-1.0 on the 4 shared frames), or
a sweep's track follows an object that another stored object already follows (`world_1020022`'s yellow dog: two
objects, the same masks on 163 of 170 shared frames). Each pair is an identity switch, and each cut a false leave
or disappearance for the events.

The rule: two objects of a video are one when both stored a point on at least `MIN_SHARED` of the same frames, their
masks overlap (IoU >= `SAME_IOU`) on at least `SAME_SHARE` of those frames, and their labels' colours do not clash.
A mask over two objects tracked under both their names ("the white dog", "the yellow dog") is the case the colour
keeps apart; its masks also differ more often than that (37 of 58 shared frames over 0.5 in the one measured).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import duckdb
from pycocotools import mask as coco_mask

from index.label_vote import HAS_VIEWS as _HAS_VIEWS
from sa2va_engine.masklet import SAME_FRAME_S
from tools.colour_words import colours_differ

MIN_SHARED = 2
SAME_IOU = 0.5
SAME_SHARE = 0.8

_POINTS = (
    "SELECT object_id, time_s, mask_h, mask_w, mask_counts FROM track_points "
    "WHERE video_id = ? AND mask_counts IS NOT NULL ORDER BY object_id, time_s, chunk_index"
)
# Rows that name an object, moved to the object it is merged into (events are recomputed after a merge).
_MOVE = (
    "UPDATE track_points SET object_id = $keep WHERE object_id = $gone",
    "UPDATE phrases SET object_id = $keep WHERE object_id = $gone",
    "UPDATE text_refs SET object_id = $keep WHERE object_id = $gone",
    "UPDATE part_names SET object_id = $keep WHERE object_id = $gone",
    "DELETE FROM subject_checks WHERE object_id = $gone",
    "DELETE FROM events WHERE object_id = $gone OR other_object_id = $gone",
    "DELETE FROM objects WHERE object_id = $gone",
)


def same_objects(con: duckdb.DuckDBPyConnection, video_id: int) -> list[tuple[int, int]]:
    """(kept, merged) object id pairs of the video by the module's rule, the kept one the object seen first (the
    lower id on a tie); an object merged into one that is itself merged goes to that one's keeper."""
    masks: dict[int, dict[int, dict]] = defaultdict(dict)
    for oid, t, h, w, counts in con.execute(_POINTS, [video_id]).fetchall():
        masks[oid].setdefault(round(t / SAME_FRAME_S), {"size": [h, w], "counts": counts.encode("ascii")})
    info = dict((o, (label, first)) for o, label, first in con.execute(
        "SELECT object_id, label, first_seen_s FROM objects WHERE video_id = ?", [video_id]).fetchall())
    keeper = {o: o for o in masks}

    def root(o: int) -> int:
        while keeper[o] != o:
            o = keeper[o]
        return o

    for a, b in combinations(sorted(masks), 2):
        if a not in info or b not in info or colours_differ(info[a][0], info[b][0]):
            continue
        shared = masks[a].keys() & masks[b].keys()
        if len(shared) < MIN_SHARED:
            continue
        same = sum(coco_mask.iou([masks[a][t]], [masks[b][t]], [0])[0][0] >= SAME_IOU for t in shared)
        if same >= SAME_SHARE * len(shared):
            ra, rb = root(a), root(b)
            if ra != rb:
                first, second = sorted((ra, rb), key=lambda o: (info[o][1] if info[o][1] is not None else 1e18, o))
                keeper[second] = first
    return [(root(o), o) for o in sorted(masks) if root(o) != o]


def merge_same_objects(con: duckdb.DuckDBPyConnection, video_id: int) -> int:
    """Merge the video's objects that are one (inside the caller's transaction); returns how many were merged away.
    The kept object takes the other's points on frames it has none of, its phrases and views up close (its label is
    voted again over both), its texts and its part names; its first and last sighting span both."""
    from index.label_vote import vote_labels

    pairs = same_objects(con, video_id)
    has_views = bool(pairs) and con.execute(_HAS_VIEWS).fetchone()[0]
    for keep, gone in pairs:
        # One point per object and frame: where both stored one, the kept object's stays.
        con.execute(
            "DELETE FROM track_points g WHERE g.object_id = $gone AND EXISTS (SELECT 1 FROM track_points k "
            "WHERE k.object_id = $keep AND abs(k.time_s - g.time_s) < $eps)",
            {"keep": keep, "gone": gone, "eps": SAME_FRAME_S})
        con.execute(
            "UPDATE objects SET description = coalesce(objects.description, g.description) FROM objects g "
            "WHERE objects.object_id = $keep AND g.object_id = $gone", {"keep": keep, "gone": gone})
        for statement in _MOVE:
            con.execute(statement, {k: v for k, v in (("keep", keep), ("gone", gone)) if f"${k}" in statement})
        if has_views:  # a migration older than the views (v18) merging objects has none to move
            con.execute("UPDATE object_views SET object_id = ? WHERE object_id = ?", [keep, gone])
    if pairs:
        update_sightings(con, video_id)
        vote_labels(con, sorted({keep for keep, _ in pairs}))
    return len(pairs)


def update_sightings(con: duckdb.DuckDBPyConnection, video_id: int) -> None:
    """Each object's first and last sighting in the video, from its stored points (after points were added or
    moved)."""
    con.execute(
        "UPDATE objects SET first_seen_s = s.first, last_seen_s = s.last FROM (SELECT object_id, min(time_s) "
        "AS first, max(time_s) AS last FROM track_points WHERE video_id = ? GROUP BY object_id) s "
        "WHERE objects.object_id = s.object_id AND objects.video_id = ?", [video_id, video_id])
