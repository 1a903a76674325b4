"""One number a track point's mask adds to its box: the bottom of the mask's highest part.

A jump lifts something off the ground. The box alone cannot tell a ball in the air above its neighbour, both in
one mask (the demo model's masks often cover two objects), from a mask spreading upward while all of it stays on
the ground: both raise the box's top and leave its bottom down. The mask's connected parts can: in the first, one
part's bottom is in the air. Parts smaller than `PART_SHARE` of the mask (mask noise, a sliver) do not count.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

# A part holding less of the mask than this is a speck or a sliver, not an object's part.
PART_SHARE = 0.1


class HighestPart(NamedTuple):
    """The sizeable connected part of a mask whose bottom is highest: its box (x0, y0, x1, y1, pixels, x1 / y1 one
    past the last column / row) and how many sizeable parts the mask has."""

    box: tuple[int, int, int, int]
    parts: int


def highest_part(mask: np.ndarray) -> HighestPart | None:
    """The part above (8-neighbour connected parts); None for an empty mask. No part holding `PART_SHARE` of the
    mask (scattered specks only, an untrained model's noise): the lowest speck, with `parts` 0."""
    binary = np.asarray(mask, dtype=np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return None
    stats = stats[1:]
    areas = stats[:, cv2.CC_STAT_AREA]
    bottoms = stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]
    sizeable = np.flatnonzero(areas >= PART_SHARE * areas.sum())
    # Scattered specks only: no part stands out, so none is off the ground.
    k = int(sizeable[np.argmin(bottoms[sizeable])]) if len(sizeable) else int(np.argmax(bottoms))
    x, y, w, h = (int(v) for v in stats[k, :4])
    return HighestPart(box=(x, y, x + w, y + h), parts=len(sizeable))


def highest_part_bottom(mask: np.ndarray) -> float | None:
    """y1 (last row + 1, pixels) of `highest_part`; None for an empty mask. One part: the box's y1."""
    part = highest_part(mask)
    return None if part is None else float(part.box[3])
