"""SAM-2's low-resolution mask logits -> track points (box, area, COCO RLE), computed where the logits are.

`track` needs no full-size masks, only their boxes, areas and run-length encodings. Upsampling K masks
to 1280x720, copying them to the host and scanning them there with NumPy and pycocotools cost more than
SAM-2's own per-object work on a GPU (bench/README.md). Here the upsampling, threshold, box, area and the
column-major run boundaries are computed on the logits' device; only the run lengths (a few thousand
integers a mask) cross to the host, where pycocotools compresses them into the same RLE string
`pycocotools.mask.encode` gives for the full mask.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pycocotools import mask as coco_mask

from sa2va_engine.masklet import Rle, TrackPoint


def upscale_logits(low_res_logits: torch.Tensor, height: int, width: int, via: int | None = None) -> torch.Tensor:
    """(K, 1, h, w) logits -> (K, H, W) float32 logits at the frame's size (bilinear), on the logits' device.
    ``via``: first to that square size (SAM-2's image size: the reference's 256 -> 1024 -> H x W)."""
    up = low_res_logits.float()
    if via is not None and up.shape[-2:] != (via, via):
        up = F.interpolate(up, size=(via, via), mode="bilinear", align_corners=False)
    return F.interpolate(up, size=(height, width), mode="bilinear", align_corners=False)[:, 0]


def upscale(low_res_logits: torch.Tensor, height: int, width: int, via: int | None = None) -> torch.Tensor:
    """(K, 1, h, w) logits -> (K, H, W) bool masks at the frame's size, on the logits' device."""
    return upscale_logits(low_res_logits, height, width, via) > 0


def track_points(time_s: float, low_res_logits: torch.Tensor, scores: torch.Tensor, height: int, width: int,
                 via: int | None = None) -> list[TrackPoint]:
    """One `TrackPoint` per object, equal to `TrackPoint.from_mask` on the upscaled masks."""
    masks = upscale(low_res_logits, height, width, via)
    k = masks.shape[0]
    rows = masks.any(dim=2)
    cols = masks.any(dim=1)
    areas = masks.sum(dim=(1, 2))
    # COCO RLE walks the mask column by column, starting with a run of zeros.
    flat = masks.transpose(1, 2).reshape(k, -1)
    owner, where = (flat[:, 1:] != flat[:, :-1]).nonzero(as_tuple=True)
    starts_on = flat[:, 0]
    rows, cols, areas, owner, where, starts_on = (t.cpu().numpy() for t in (rows, cols, areas, owner, where, starts_on))
    scores = scores.float().cpu().numpy().reshape(-1)
    per_object = np.split(where + 1, np.cumsum(np.bincount(owner, minlength=k))[:-1])
    total = height * width

    def rle(j: int) -> Rle:
        counts = np.diff(np.concatenate(([0], per_object[j], [total])))
        if starts_on[j]:
            counts = np.concatenate(([0], counts))
        coco = coco_mask.frPyObjects({"counts": counts.astype(np.uint32), "size": [height, width]}, height, width)
        return Rle(size=(height, width), counts=coco["counts"].decode("ascii"))

    points = []
    for j in range(k):
        box = None
        if areas[j]:
            ys, xs = np.flatnonzero(rows[j]), np.flatnonzero(cols[j])
            box = (float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1))
        points.append(TrackPoint.observed(time_s, float(scores[j]), box, int(areas[j]), lambda j=j: rle(j)))
    return points
