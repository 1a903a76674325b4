"""What a track point's mask adds to its box: the box of its sizeable parts, and the bottom of its highest part.

A jump lifts something off the ground. The box alone cannot tell a ball in the air above its neighbour, both in
one mask (the demo model's masks often cover two objects), from a mask spreading upward while all of it stays on
the ground: both raise the box's top and leave its bottom down. The mask's connected parts can: in the first, one
part's bottom is in the air. Parts smaller than `PART_SHARE` of the mask (mask noise, a sliver) do not count.

The stored box is every pixel's, specks included: a two-pixel speck far from the object (the demo model leaves
them) stretches it to several times the object's width, and the border rules, which time a crossing by the
object's size and speed, then place it a sample off (measured on 30 unseen minutes: a box 18 px wide stored as 66).
The events read `MaskOutline.box`, the box without the specks, instead.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

# A part holding less of the mask than this is a speck or a sliver, not an object's part.
PART_SHARE = 0.1
# ... but for the box, a part this share of the frame or more counts whatever its share of the mask: the sliver of a
# ball in the air beside the dog whose mask it hangs on (40 px beside 550, `sva demo --seed 8000`) is the jump. A
# speck is a few pixels (0.1% of a 160 x 120 frame is 19).
SPECK_FRAME_SHARE = 0.001


class HighestPart(NamedTuple):
    """The sizeable connected part of a mask whose bottom is highest: its box (x0, y0, x1, y1, pixels, x1 / y1 one
    past the last column / row) and how many sizeable parts the mask has."""

    box: tuple[int, int, int, int]
    parts: int


class MaskOutline(NamedTuple):
    """A mask's box without its specks (x0, y0, x1, y1, pixels, x1 / y1 one past the last column / row: the union of
    its parts that are sizeable or at least `SPECK_FRAME_SHARE` of the frame, or of every part when none is) and the
    y1 of its highest sizeable part."""

    box: tuple[int, int, int, int]
    part_bottom: float


def mask_outline(mask: np.ndarray) -> MaskOutline | None:
    """`MaskOutline` of a mask (8-neighbour connected parts); None for an empty mask."""
    stats = _part_stats(mask)
    if stats is None:
        return None
    areas = stats[:, cv2.CC_STAT_AREA]
    is_sizeable = areas >= PART_SHARE * areas.sum()
    sizeable = np.flatnonzero(is_sizeable)
    shown = np.flatnonzero(is_sizeable | (areas >= SPECK_FRAME_SHARE * np.size(mask)))
    kept = stats[shown] if len(shown) else stats
    x0, y0 = kept[:, cv2.CC_STAT_LEFT].min(), kept[:, cv2.CC_STAT_TOP].min()
    x1 = (kept[:, cv2.CC_STAT_LEFT] + kept[:, cv2.CC_STAT_WIDTH]).max()
    y1 = (kept[:, cv2.CC_STAT_TOP] + kept[:, cv2.CC_STAT_HEIGHT]).max()
    return MaskOutline(box=(int(x0), int(y0), int(x1), int(y1)), part_bottom=float(_highest(stats, sizeable).box[3]))


def _part_stats(mask: np.ndarray) -> np.ndarray | None:
    """cv2's stats rows (left, top, width, height, area) of the mask's connected parts; None when it has none."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(np.asarray(mask, dtype=np.uint8), connectivity=8)
    return stats[1:] if count > 1 else None


def _highest(stats: np.ndarray, sizeable: np.ndarray) -> HighestPart:
    bottoms = stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]
    # Scattered specks only: no part stands out, so none is off the ground.
    k = int(sizeable[np.argmin(bottoms[sizeable])]) if len(sizeable) else int(np.argmax(bottoms))
    x, y, w, h = (int(v) for v in stats[k, :4])
    return HighestPart(box=(x, y, x + w, y + h), parts=len(sizeable))


def highest_part(mask: np.ndarray) -> HighestPart | None:
    """The part above (8-neighbour connected parts); None for an empty mask. No part holding `PART_SHARE` of the
    mask (scattered specks only, an untrained model's noise): the lowest speck, with `parts` 0."""
    stats = _part_stats(mask)
    if stats is None:
        return None
    areas = stats[:, cv2.CC_STAT_AREA]
    return _highest(stats, np.flatnonzero(areas >= PART_SHARE * areas.sum()))


def highest_part_bottom(mask: np.ndarray) -> float | None:
    """y1 (last row + 1, pixels) of `highest_part`; None for an empty mask. One part: the box's y1."""
    part = highest_part(mask)
    return None if part is None else float(part.box[3])


class MaskPart(NamedTuple):
    """One connected part of a mask: its box (x0, y0, x1, y1, pixels, x1 / y1 one past the last column / row) and
    its pixels."""

    box: tuple[int, int, int, int]
    area: int


def mask_parts(mask: np.ndarray) -> list[MaskPart]:
    """The mask's parts that count as something (sizeable, or at least `SPECK_FRAME_SHARE` of the frame: a ball half
    out of the frame beside a dog in one mask is a small share of it), largest first; none for an empty mask."""
    stats = _part_stats(mask)
    if stats is None:
        return []
    areas = stats[:, cv2.CC_STAT_AREA]
    kept = np.flatnonzero((areas >= PART_SHARE * areas.sum()) | (areas >= SPECK_FRAME_SHARE * np.size(mask)))
    parts = [MaskPart(box=(int(x), int(y), int(x + w), int(y + h)), area=int(a))
             for x, y, w, h, a in (stats[k, :5] for k in kept)]
    return sorted(parts, key=lambda p: -p.area)
