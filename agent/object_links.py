"""Which object of the previous chunk each new track continues, decided by mask IoU on the overlap frames.

Consecutive chunks share their overlap seconds, so an object seen there was tracked twice on the same
frames: once at the end of chunk k-1, once at the start of chunk k. Pairs are matched greedily by mean IoU
over the shared frames (best pair first, each object used once); a pair below `min_iou` is not linked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sa2va_engine.masklet import Masklet, TrackPoint

# Stored and re-decoded frame times agree to the decoder's rounding; anything closer is the same frame.
SAME_FRAME_S = 1e-3


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
