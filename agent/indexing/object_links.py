"""Which stored object each new track continues: by mask IoU on the overlap frames, else by re-identification.

Consecutive chunks share their overlap seconds, so an object seen there was tracked twice on the same
frames: once at the end of chunk k-1, once at the start of chunk k. Pairs are matched greedily by mean IoU
over the shared frames (best pair first, each object used once); a pair below `min_iou` is not linked.

Where the overlap says nothing (the tracker lost the object for a moment, or it was hidden or out of frame
across the chunk boundary), `reidentify` links a new track to an object of the same video that was last seen
shortly before it began (within `REID_GAP_S`), under the same name (head noun and colours: "the red ball" is
"a red ball", not "the red dog"), about the same size, and the nearest such one; failing a same-named one, an
object of the same colours under another noun (a name given up close can call one object a box in one chunk and
a ball in the next: measured, 51 identity switches in 56 objects against 15 when every name was "ball"). Without it a one-second
dropout splits an object in two, and each split reads as a disappearance and an appearance. Assumption: a
same-named object that is not on screen at the same time as the other, within seconds, is the same one. In
a crowd of look-alikes ("a person" x 20) that can join two people; a learnt appearance re-id would not.

Within a chunk, two phrases may name one object ("the yellow ball" and "the yellow dog" segmenting the same
thing): `same_object_as` finds tracks that alike over the chunk and makes them one object with both names, one
track point per frame. Without it each became an object of its own, chunk after chunk, with the same events.

The sweep for objects no phrase covers (agent/indexing/chunk_analyser.py) tracks more than the phrases: `new_finds`
keeps of its tracks only those that find a new object (no fragment, not inside a track before it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from agent.query.subject_resolution import noun_phrase
from index.summaries import LastSeen
from sa2va_engine.masklet import SAME_FRAME_S, Masklet, TrackPoint
from tools.mask_parts import PART_SHARE

# How long an object may be unseen and still be re-identified, seconds.
REID_GAP_S = 15.0
# Box areas of one object a few seconds apart stay within this factor (it turns, it is partly hidden).
REID_AREA_RATIO = 2.5
# A sweep's track (agent/indexing/chunk_analyser.py) finds a new object only if its masks are no fragment and not part of
# an object tracked before it. Measured on 8 unseen worlds (232 chunks, 240 sweep tracks: 67 new objects, 53 objects
# already tracked, 120 following no object), keeping a track whose median mask is at least SWEEP_MIN_AREA of the
# frame and whose masks lie less than SWEEP_MAX_INSIDE inside an earlier track's (mean over its frames) kept 66 of
# the 67 new objects, none of the 53 and 3 of the 120. The ones following nothing were mostly fragments of a few
# pixels (median 0.05% of the frame); the ones already tracked lay 0.76-0.95 inside that object's track.
SWEEP_MIN_AREA = 0.001
SWEEP_MAX_INSIDE = 0.5
# Two tracks of one chunk this alike (mean mask IoU over the frames either is present on) are one object that two
# phrases named: measured on 30 unseen minutes, 25 pairs of stored objects with a mean box IoU near 1.0 over their
# shared frames. Two objects that touch or cross for a moment stay far below it over a chunk.
DUPLICATE_IOU = 0.8


def mask_iou(a: TrackPoint, b: TrackPoint) -> float:
    if not (a.present and b.present and a.mask and b.mask):
        return 0.0
    ma, mb = a.mask.decode(), b.mask.decode()
    if ma.shape != mb.shape:
        return 0.0
    union = np.logical_or(ma, mb).sum()
    return float(np.logical_and(ma, mb).sum() / union) if union else 0.0


def track_iou(new: Masklet, old: Sequence[TrackPoint], start_s: float, end_s: float) -> float:
    """Mean IoU over the frames in [start_s, end_s] where either track is present (absent in one = 0)."""
    old_by_time = {round(p.time_s / SAME_FRAME_S): p for p in old if start_s <= p.time_s <= end_s}
    scores = []
    for point in new.points:
        if not start_s <= point.time_s <= end_s:
            continue
        other = old_by_time.get(round(point.time_s / SAME_FRAME_S))
        if point.present or (other is not None and other.present):
            scores.append(mask_iou(point, other) if other is not None else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def link_objects(new: Sequence[Masklet], previous: Mapping[int, Sequence[TrackPoint]],
                 overlap: tuple[float, float], min_iou: float = 0.5) -> list[int | None]:
    """For each new masklet, the id of the previous object it continues, or None for a new object.

    `previous` maps object id -> its stored track points (present ones); `overlap` is the shared window, seconds."""
    start_s, end_s = overlap
    if end_s < start_s or not previous:
        return [None] * len(new)
    pairs = sorted(
        ((track_iou(m, pts, start_s, end_s), i, oid) for i, m in enumerate(new) for oid, pts in previous.items()),
        key=lambda x: (-x[0], x[1], x[2]),
    )
    links: list[int | None] = [None] * len(new)
    used: set[int] = set()
    for iou, i, oid in pairs:
        if iou < min_iou:
            break
        if links[i] is None and oid not in used:
            links[i] = oid
            used.add(oid)
    return links


def same_name(a: str, b: str) -> bool:
    """Same head noun and the same colours ('the red ball' / 'a red ball'; not 'the red dog', 'the white ball')."""
    head_a, _, colours_a = noun_phrase(a)
    head_b, _, colours_b = noun_phrase(b)
    return bool(head_a) and head_a == head_b and colours_a == colours_b


def same_colours(a: str, b: str) -> bool:
    """Both names give colours and the same ones ('the red dog' / 'a red box'; not 'a man' / 'a person')."""
    colours_a, colours_b = noun_phrase(a)[2], noun_phrase(b)[2]
    return bool(colours_a) and colours_a == colours_b


def reidentify(new: Sequence[Masklet], links: Sequence[int | None], recent: Sequence[LastSeen]) -> list[int | None]:
    """`links` with each unlinked new track that has a present point joined to a recently seen object (see the
    module docstring); each object is used once, and never for an object already linked in this chunk."""
    out = list(links)
    used = {link for link in links if link is not None}
    for i, masklet in enumerate(new):
        if out[i] is not None:
            continue
        first = next((p for p in masklet.points if p.present and p.box is not None), None)
        if first is None:
            # Named but never seen in this chunk: the phrase is about the same-named object seen last, if any,
            # rather than a new object with no track at all.
            named = [c for c in recent if c.object_id not in used and same_name(masklet.expression, c.label)]
            if named:
                out[i] = max(named, key=lambda c: (c.point.time_s, -c.object_id)).object_id
                used.add(out[i])
            continue
        options = []
        for cand in recent:
            last = cand.point
            gap = first.time_s - last.time_s
            if cand.object_id in used or last.box is None or not 0 < gap <= REID_GAP_S:
                continue
            exact = same_name(masklet.expression, cand.label)
            if not exact and not same_colours(masklet.expression, cand.label):
                continue
            ratio = max(first.area, 1) / max(last.area, 1)
            if not 1 / REID_AREA_RATIO <= ratio <= REID_AREA_RATIO:
                continue
            options.append((not exact, _centre_distance(first.box, last.box), gap, cand.object_id))
        if options:
            *_, chosen = min(options)
            out[i] = chosen
            used.add(chosen)
    return out


def _centre_distance(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    return float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2))


def same_object_as(new: Sequence[Masklet], links: Sequence[int | None],
                   min_iou: float = DUPLICATE_IOU) -> list[int | None]:
    """For each masklet, the index of an earlier-kept masklet of the same chunk that tracks the same object (its
    track that alike over the chunk), or None: it is its own. Within a group the kept one is the one that
    continues a stored object (`links`), else the first; the others are its other names."""
    out: list[int | None] = [None] * len(new)
    span = [(min(ts), max(ts)) if (ts := m.present_times()) else None for m in new]
    for j in range(len(new)):
        if span[j] is None:
            continue
        for i in range(len(new)):
            if i == j or out[i] is not None or span[i] is None:
                continue
            # The keeper: a linked one over an unlinked one, else the earlier.
            keeper_first = (links[i] is not None, -i) > (links[j] is not None, -j)
            if not keeper_first or (links[i] is not None and links[j] is not None):
                continue  # two stored objects are not merged here; j may keep others
            start, end = min(span[i][0], span[j][0]), max(span[i][1], span[j][1])
            if track_iou(new[j], new[i].points, start, end) >= min_iou:
                out[j] = i
                break
    return out


def new_finds(masklets: Sequence[Masklet], kept: int, min_area: float = SWEEP_MIN_AREA,
              max_inside: float = SWEEP_MAX_INSIDE, apart_only: bool = False) -> list[Masklet]:
    """The first ``kept`` masklets, then each later one (a sweep's find) that finds a new object: present on some
    frame, its median mask at least ``min_area`` of the frame, and on average less than ``max_inside`` of its mask
    inside the mask of any masklet kept before it on the same frame. Each mask is decoded once."""
    out = list(masklets[:kept])
    decoded = [_masks(m) for m in out]  # frame position -> mask, of each kept masklet
    for masklet in masklets[kept:]:
        present = [(i, p) for i, p in enumerate(masklet.points) if p.present and p.mask]
        if not present or np.median([p.area / (p.mask.size[0] * p.mask.size[1]) for _, p in present]) < min_area:
            continue
        masks = _masks(masklet)
        if all(_inside(masks, theirs, apart_only) < max_inside for theirs in decoded):
            out.append(masklet)
            decoded.append(masks)
    return out


def _masks(masklet: Masklet) -> dict[int, np.ndarray]:
    return {i: p.mask.decode() for i, p in enumerate(masklet.points) if p.present and p.mask}


def _inside(masks: Mapping[int, np.ndarray], theirs: Mapping[int, np.ndarray], apart_only: bool = False) -> float:
    """Mean over the frames of ``masks`` (frame position -> mask) of the share of the mask inside ``theirs`` on that
    frame (0 where the other is absent or the sizes differ). With ``apart_only``, also 0 where the other mask has a
    sizeable part that this mask does not touch: there the other is a mask over this object and another apart."""
    shares = []
    for i, mask in masks.items():
        other = theirs.get(i)
        fits = other is not None and other.shape == mask.shape and mask.sum()
        common = float(np.logical_and(mask, other).sum()) if fits else 0.0
        # Parts are looked for only where the masks meet: elsewhere the share is 0 whatever they are.
        if common and apart_only and _holds_another(other, mask):
            common = 0.0
        shares.append(common / mask.sum() if common else 0.0)
    return float(np.mean(shares))


def _holds_another(other: np.ndarray, mask: np.ndarray) -> bool:
    """Whether ``other`` has a connected part (8-neighbour) of at least `PART_SHARE` of it (less is a speck or a
    sliver) that ``mask`` does not touch."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(other.astype(np.uint8), connectivity=8)
    sizeable = {k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] >= PART_SHARE * other.sum()}
    return bool(sizeable - set(np.unique(labels[mask]).tolist()))
