"""The colour under a mask: each present track point's mean colour on its frame, in CIE Lab, and how far apart two
colours are.

Why the index keeps it: a small tracker's mask sometimes slides off its object onto a neighbour (a yellow ball's
mask onto a red box coming in at the same edge, measured on 30 unseen minutes), and to the event rules that reads as
the ball still being there, hiding its leave. The mask's colour tells: a mask whose colour is far from what the
same track showed around it is no sighting of the object (`tools/track_events.py` `_sightings`).

Lab, not RGB: its distances follow what looks different. Lightness counts half (`LIGHTNESS_WEIGHT`, as CMC's l:c 2:1
does for textiles), since shade and sun change an object's lightness far more than its hue.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sa2va_engine.masklet import Masklet, TrackPoint

Lab = tuple[float, float, float]

LIGHTNESS_WEIGHT = 0.5


def mask_colour(image: np.ndarray, mask: np.ndarray) -> Lab | None:
    """The mean CIE Lab (L in [0, 100], a and b about [-128, 127]) of the pixels of an RGB uint8 frame under `mask`
    (bool, the frame's size); None for an empty mask. The mean of the pixels' Lab, not the Lab of their mean RGB:
    a mask half on a yellow ball and half on a red box averages to an orange that is nearer both (measured on 30 unseen
    minutes, bench/README.md). Only the mask's box is converted (a whole 720p frame costs 31 ms on the 2-core VM)."""
    import cv2  # here: the event rules import this module for `colour_distance`, and event questions stay light

    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if len(ys) == 0:
        return None
    rows, cols = slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)
    crop = np.ascontiguousarray(image[rows, cols], dtype=np.float32) / 255.0
    mean = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB)[mask[rows, cols]].mean(axis=0)
    return (round(float(mean[0]), 2), round(float(mean[1]), 2), round(float(mean[2]), 2))


def colour_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Euclidean Lab distance with lightness weighted by `LIGHTNESS_WEIGHT`."""
    dl, da, db = (float(x) - float(y) for x, y in zip(a, b))
    return float(np.sqrt((LIGHTNESS_WEIGHT * dl) ** 2 + da**2 + db**2))


def with_colours(masklets: Sequence[Masklet], images: Sequence[np.ndarray]) -> list[Masklet]:
    """`masklets` (one point per image, in order) with each present point's mask colour filled in. A mask of
    another size than its frame (never made by the engine, which masks at the frame's size) keeps None."""
    out = []
    for masklet in masklets:
        points = []
        for i, point in enumerate(masklet.points):
            points.append(_coloured(point, images, i) if point.present and point.mask is not None else point)
        out.append(masklet.model_copy(update={"points": points}))
    return out


def _coloured(point: TrackPoint, images: Sequence[np.ndarray], i: int) -> TrackPoint:
    if i >= len(images) or tuple(images[i].shape[:2]) != tuple(point.mask.size):
        return point
    return point.model_copy(update={"colour": mask_colour(images[i], point.mask.decode())})
