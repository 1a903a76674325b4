"""The engine's output currency: a masklet is one object's mask track over time.

Masks travel as COCO run-length encoding (pycocotools), so a track point is small enough to store
per frame and exact enough to redraw. Boxes are pixel coordinates of the original frame
(x0, y0, x1, y1, exclusive end). Times are seconds from the start of the video.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pycocotools import mask as coco_mask
from pydantic import BaseModel, ConfigDict, Field

# Two frame times closer than this are one frame: overlapping chunks decode a frame twice, and stored times read back
# agree with the decoder's to its rounding. The one definition every layer compares times by.
SAME_FRAME_S = 1e-3


class Rle(BaseModel):
    """COCO RLE of a binary mask: ``size`` is [height, width] in pixels, ``counts`` the compressed string."""

    model_config = ConfigDict(frozen=True)
    size: tuple[int, int]
    counts: str

    @classmethod
    def encode(cls, mask: np.ndarray) -> "Rle":
        binary = np.asfortranarray(np.asarray(mask, dtype=np.uint8))
        if binary.ndim != 2:
            raise ValueError(f"mask must be 2-D (H, W), got shape {binary.shape}")
        rle = coco_mask.encode(binary)
        return cls(size=(int(rle["size"][0]), int(rle["size"][1])), counts=rle["counts"].decode("ascii"))

    def decode(self) -> np.ndarray:
        """The mask as a bool array of shape (height, width)."""
        rle = {"size": list(self.size), "counts": self.counts.encode("ascii")}
        return coco_mask.decode(rle).astype(bool)

    def area(self) -> int:
        return int(coco_mask.area({"size": list(self.size), "counts": self.counts.encode("ascii")}))


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight pixel box (x0, y0, x1, y1) around a bool mask, ``None`` when the mask is empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


class TrackPoint(BaseModel):
    """One object on one frame. ``present`` follows SAM-2's object score; an absent object has no box."""

    time_s: float = Field(description="presentation time of the frame, seconds")
    present: bool
    score: float = Field(description="SAM-2 object score as a probability in [0, 1]")
    box: tuple[float, float, float, float] | None = Field(default=None, description="x0,y0,x1,y1 in pixels")
    area: int = Field(default=0, description="mask area in pixels")
    mask: Rle | None = None
    colour: tuple[float, float, float] | None = Field(
        default=None, description="the mean colour under the mask, CIE Lab (tools/mask_colour.py); None: not measured")

    @classmethod
    def from_mask(cls, time_s: float, mask: np.ndarray, score: float) -> "TrackPoint":
        box = mask_box(mask)
        return cls.observed(time_s, score, box, int(mask.sum()) if box else 0, lambda: Rle.encode(mask))

    @classmethod
    def observed(cls, time_s: float, score: float, box: tuple[float, float, float, float] | None, area: int,
                 rle: Callable[[], "Rle"]) -> "TrackPoint":
        """The one rule for presence: a non-empty mask (``box``) that SAM-2 scores at least 0.5. The RLE is
        made only for a present object."""
        if box is None or score < 0.5:
            return cls(time_s=float(time_s), present=False, score=float(score))
        return cls(time_s=float(time_s), present=True, score=float(score), box=box, area=int(area), mask=rle())


class Masklet(BaseModel):
    """One expression's object tracked over a sequence of frames (one point per input frame)."""

    expression: str
    points: list[TrackPoint]

    def present_times(self) -> list[float]:
        return [p.time_s for p in self.points if p.present]
