"""Drawing track points onto one frame, so people can see what a track found: the CLI's overlay video and
the dashboard's thumbnails both go through ``draw_tracks``.

Colours come from the label alone (a hash into a fixed palette, not Python's salted ``hash``), so one
expression keeps its colour across frames, videos and processes. Two labels can land on the same palette
entry; the written label tells them apart.

Masks are stored at the size of the frame the tracker saw, boxes in that frame's pixels. The image drawn
on may be smaller or larger (a thumbnail, a decode at another ``max_side``): masks are resized with
nearest-neighbour and boxes scaled by the same factors, so what is drawn lines up with the picture.

Why not supervision's annotators (MaskAnnotator, BoxAnnotator, LabelAnnotator; its 0.31 API and
dependencies): they draw one ``Detections`` in the image's own pixels, so the mask resizing, box scaling and
label-keyed colours above would still be written here around them; their labels are placed and inked their
own way (not the pictures the thumbnails and overlays show today); and the package brings matplotlib, scipy,
requests and pydeprecate along. Not simpler, not equal: kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

from sa2va_engine.masklet import TrackPoint, mask_box

RGB = tuple[int, int, int]

# Saturated colours that stay apart from each other and from typical scene colours (RGB).
PALETTE: tuple[RGB, ...] = (
    (255, 56, 56), (50, 205, 50), (30, 144, 255), (255, 178, 29), (186, 85, 211), (0, 206, 209),
    (255, 105, 180), (154, 205, 50), (255, 127, 80), (72, 61, 239), (240, 230, 20), (0, 160, 120),
)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_MAX_LABEL_CHARS = 40


def label_colour(label: str) -> RGB:
    """The palette colour of ``label`` (RGB 0-255): the same in every frame, run and process."""
    digest = hashlib.blake2b(label.encode("utf-8"), digest_size=4).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def draw_tracks(image: np.ndarray, points: Sequence[tuple[TrackPoint, str]], alpha: float = 0.45) -> np.ndarray:
    """A new H x W x 3 uint8 RGB image: ``image`` with each present point's mask blended in its label's
    colour (``alpha`` is the colour's weight, 0-1), its box outlined and ``label score`` written by it.

    Points that are absent draw nothing. Masks and boxes from a frame of another size are scaled to
    ``image`` (see the module docstring). ``image`` itself is not changed."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be H x W x 3 uint8, got shape {image.shape} dtype {image.dtype}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    canvas = image.copy()
    visible = [(p, label) for p, label in points if p.present and (p.mask is not None or p.box is not None)]
    # Masks first, outlines and text last: a later mask must not wash out an earlier label.
    boxes: list[tuple[tuple[int, int, int, int], str, float, RGB]] = []
    for point, label in visible:
        colour = label_colour(label)
        box = _blend_mask(canvas, point, colour, alpha)
        if box is not None:
            boxes.append((box, label, point.score, colour))
    for box, label, score, colour in boxes:
        _draw_box(canvas, box, f"{label} {score:.2f}", colour)
    return canvas


def thumbnail(image: np.ndarray, points: Sequence[tuple[TrackPoint, str]], max_side: int = 320) -> np.ndarray:
    """``image`` scaled so its long side is at most ``max_side`` pixels (never enlarged), then drawn on.

    Scaling comes first so the outline and text are sized for the thumbnail, not shrunk into a blur."""
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1 px, got {max_side}")
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return draw_tracks(image, points)


def _blend_mask(canvas: np.ndarray, point: TrackPoint, colour: RGB, alpha: float) -> tuple[int, int, int, int] | None:
    """Tint the point's mask into ``canvas`` in place; return its box in canvas pixels (x0, y0, x1, y1, exclusive)."""
    height, width = canvas.shape[:2]
    mask = None
    scale_x = scale_y = 1.0
    if point.mask is not None:
        mask = point.mask.decode()
        mask_h, mask_w = mask.shape
        scale_x, scale_y = width / mask_w, height / mask_h
        if (mask_h, mask_w) != (height, width):
            mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
        if mask.any() and alpha > 0:
            tint = np.asarray(colour, dtype=np.float32)
            region = canvas[mask].astype(np.float32)
            canvas[mask] = np.clip(region * (1.0 - alpha) + tint * alpha + 0.5, 0, 255).astype(np.uint8)
    box = point.box if point.box is not None else (mask_box(mask) if mask is not None else None)
    if box is None:
        return None
    if point.box is not None:
        # Without a mask the tracker's frame size is unknown: the box is taken to be in this image's pixels.
        x0, y0, x1, y1 = box[0] * scale_x, box[1] * scale_y, box[2] * scale_x, box[3] * scale_y
    else:
        x0, y0, x1, y1 = box  # from the already resized mask
    x0, y0 = max(0, _pixel(x0)), max(0, _pixel(y0))
    x1, y1 = min(width, _pixel(x1)), min(height, _pixel(y1))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _pixel(value: float) -> int:
    return int(np.rint(value))


def _draw_box(canvas: np.ndarray, box: tuple[int, int, int, int], text: str, colour: RGB) -> None:
    height, width = canvas.shape[:2]
    x0, y0, x1, y1 = box
    thickness = max(1, round(min(height, width) / 240))
    cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), colour, thickness)
    # Hershey fonts draw ASCII only; anything else would come out as '?' anyway, so say so plainly.
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    if len(text) > _MAX_LABEL_CHARS:
        text = text[: _MAX_LABEL_CHARS - 3] + "..."
    font_scale = max(0.3, min(height, width) / 600)
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, 1)
    pad = 2
    label_h = text_h + baseline + 2 * pad
    # Above the box where there is room, else just inside its top edge.
    top = y0 - label_h if y0 - label_h >= 0 else y0
    left = min(x0, max(0, width - text_w - 2 * pad))
    cv2.rectangle(canvas, (left, top), (left + text_w + 2 * pad, top + label_h), colour, cv2.FILLED)
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
    cv2.putText(canvas, text, (left + pad, top + pad + text_h), _FONT, font_scale, ink, 1, cv2.LINE_AA)
