"""Where something moves in a chunk: the regions of its frames that differ from the chunk's still background.

A small model's captions leave objects out (a purple dog beside a yellow box that every chunk names), and what no
caption names is never tracked. What moves in front of a fixed camera is an object whatever it is called, so a
chunk's moving regions are what its sweep names up close and looks for (agent/indexing/chunk_analyser.py).

The still background is the per-pixel median of the chunk's frames; a pixel moves on a frame when one of its
channels is more than `THRESHOLD` levels from it. Moving pixels are opened (specks of codec noise go) and split into
connected blobs of at least `MIN_SHARE` of the frame. A blob is followed from frame to frame by overlap (its box,
widened by half, meeting the next frame's); a chain seen on `MIN_FRAMES` frames or more is one moving region, kept on
the frame where its blob is largest, the largest regions first.

Assumptions: a fixed camera, and objects that move within the chunk (a still one is part of the median). A chunk
whose camera moves has no moving regions: `camera_moves` reads the median optical flow between its frames (most of
a frame is background, so the median is the camera's motion, whatever the objects do). The share of moving pixels
does not tell it: on a car's dashboard camera and a pan following a pole vaulter (../shared/videos) fewer than 25%
of the pixels were far from the chunk's median, and every chunk gave four regions of nothing. A frame with more than
`MAX_MOVING_SHARE` moving (a cut, a flash) is still skipped. A blob is not
an object: it is also where a slow object stood in the median, a moving occluder or a flicker of the background
(measured on the every-moment bench, most blobs are such); the caller checks each one by what its name tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

# Levels (0-255) a pixel must differ from the chunk's median in one channel to count as moving: above codec noise
# and the slow drift of lighting, below the contrast of an object on its background.
THRESHOLD = 30
# The smallest blob that counts, as a share of the frame (40 pixels at 160 x 120).
MIN_SHARE = 0.002
# A frame with more of it moving is a camera moving or a scene changing, not objects.
MAX_MOVING_SHARE = 0.3
# A median needs a few frames to be the background.
MIN_CHUNK_FRAMES = 5
MIN_FRAMES = 2
# The camera moves when the median over the chunk of the median optical flow between consecutive frames is above
# this share of the frame width. Measured on the real clips of ../shared/videos (4 fps, in pixels of a 320-wide
# frame): still cameras 0.02-0.18 (a dog in a garden, a table-tennis rally), moving ones 0.7-2.3 (a car driving, a
# pan following a pole vaulter, a handheld dog-training clip once it turns); the synthetic worlds 0.0.
MAX_CAMERA_FLOW = 0.5 / 320
# The flow is computed on frames at most this wide: the camera's motion shows at any size, and it stays cheap
# (about 35 ms a chunk of 16 frames on one core).
FLOW_WIDTH = 160


class MovingRegion(NamedTuple):
    """One moving region: the frame (index into the chunk's frames) where its blob is largest, the blob's box there
    (x0, y0, x1, y1, pixels, x1 / y1 one past the last column / row), its pixels there, and on how many frames it
    was seen."""

    frame_index: int
    box: tuple[float, float, float, float]
    area: int
    frames: int


def moving_regions(images: Sequence[np.ndarray], max_regions: int = 4) -> list[MovingRegion]:
    """The chunk's moving regions (module docstring), the `max_regions` largest; none for fewer than
    `MIN_CHUNK_FRAMES` frames. `images`: H x W x 3 uint8, in time order."""
    if len(images) < MIN_CHUNK_FRAMES or camera_moves(images):
        return []
    stack = np.stack([np.asarray(im, dtype=np.int16) for im in images])
    still = np.median(stack, axis=0)
    height, width = stack.shape[1:3]
    min_area = MIN_SHARE * height * width
    kernel = np.ones((3, 3), np.uint8)
    chains: list[list[tuple[int, tuple[int, int, int, int], int]]] = []  # (frame, box, area) per blob
    open_chains: list[int] = []  # chains whose last blob is on the previous frame
    for index, image in enumerate(stack):
        moving = (np.abs(image - still).max(axis=-1) > THRESHOLD).astype(np.uint8)
        if moving.mean() > MAX_MOVING_SHARE:
            open_chains = []
            continue
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(moving, connectivity=8)
        blobs = [(int(x), int(y), int(x + w), int(y + h), int(a)) for x, y, w, h, a in stats[1:] if a >= min_area]
        now = []
        for x0, y0, x1, y1, area in sorted(blobs, key=lambda b: -b[4]):
            box = (x0, y0, x1, y1)
            chain = next((c for c in open_chains if c not in now and _near(chains[c][-1][1], box)), None)
            if chain is None:
                chains.append([])
                chain = len(chains) - 1
            chains[chain].append((index, box, area))
            now.append(chain)
        open_chains = now
    regions = []
    for chain in chains:
        if len(chain) < MIN_FRAMES:
            continue
        index, box, area = max(chain, key=lambda blob: (blob[2], -blob[0]))
        regions.append(MovingRegion(index, tuple(float(v) for v in box), area, len(chain)))
    return sorted(regions, key=lambda r: (-r.area, r.frame_index))[:max_regions]


def camera_moves(images: Sequence[np.ndarray]) -> bool:
    """Whether the camera moves over these frames (`MAX_CAMERA_FLOW`). `images`: H x W x 3 uint8, in time order."""
    grey = []
    for image in images:
        height, width = image.shape[:2]
        if width > FLOW_WIDTH:
            image = cv2.resize(image, (FLOW_WIDTH, max(1, round(FLOW_WIDTH * height / width))),
                               interpolation=cv2.INTER_AREA)
        grey.append(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY))
    if len(grey) < 2:
        return False
    # Farneback's dense flow: 3 pyramid levels, 15-pixel windows; the median over the frame is the background's.
    flows = [float(np.median(np.linalg.norm(cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0),
                                            axis=2)))
             for a, b in zip(grey, grey[1:])]
    return float(np.median(flows)) > MAX_CAMERA_FLOW * grey[0].shape[1]


def _near(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether box `b` meets box `a` widened by half its size on each side (a blob moves between samples)."""
    pad_x, pad_y = (a[2] - a[0]) / 2, (a[3] - a[1]) / 2
    return b[0] < a[2] + pad_x and b[2] > a[0] - pad_x and b[1] < a[3] + pad_y and b[3] > a[1] - pad_y
