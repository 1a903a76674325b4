"""One number a track point's mask adds to its box: the bottom of the mask's highest part.

A jump lifts something off the ground. The box alone cannot tell a ball in the air above its neighbour, both in
one mask (the demo model's masks often cover two objects), from a mask spreading upward while all of it stays on
the ground: both raise the box's top and leave its bottom down. The mask's connected parts can: in the first, one
part's bottom is in the air. Parts smaller than `PART_SHARE` of the mask (mask noise, a sliver) do not count.
"""

from __future__ import annotations

import cv2
import numpy as np

# A part holding less of the mask than this is a speck or a sliver, not an object's part.
PART_SHARE = 0.1


def highest_part_bottom(mask: np.ndarray) -> float | None:
    """y1 (last row + 1, pixels) of the sizeable connected part (8-neighbour) whose bottom is highest; None for an
    empty mask. One part, or no part holding `PART_SHARE` of the mask: the box's y1."""
    binary = np.asarray(mask, dtype=np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    bottoms = stats[1:, cv2.CC_STAT_TOP] + stats[1:, cv2.CC_STAT_HEIGHT]
    sizeable = areas >= PART_SHARE * areas.sum()
    # Scattered specks only (an untrained model's noise): no part stands out, so none is off the ground.
    return float(bottoms[sizeable].min() if sizeable.any() else bottoms.max())
