"""A region seen up close, and a region marked with a red box: how the model is shown which object is meant.

Why a zoom: a 20-px object in a 160x120 frame falls on one or two of the demo LLM's 32-px vision tokens, too
few to tell a dog from a box (the demo model named nearly every object a ball, bench/README.md), and a real
checkpoint's small objects in a wide shot fare the same way at its token size. The square around the object's
box, grown by a context factor so its surroundings stay in view, scaled up so its longer side is `size`,
shows the object over many tokens. The box is then drawn on the zoomed image, so the question still points at
one object when others share the square.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Box = tuple[float, float, float, float]

# What a checkpoint's config.json may say under "sva_region_zoom" (the demo model: its frames' own size).
DEFAULT_CONTEXT = 2.0
DEFAULT_SIZE = 448
MIN_SIDE_PX = 16  # a square smaller than this holds too few pixels to scale up into anything legible


def zoom_settings(raw_config: dict) -> dict:
    """The checkpoint's `sva_region_zoom` over the defaults, as `zoom_to_region` keywords; a value that cannot be
    one is a CheckpointError naming it (the model's config.json is wrong, not the input)."""
    from sa2va_engine.errors import CheckpointError

    given = raw_config.get("sva_region_zoom", {})
    zoom = {"context": DEFAULT_CONTEXT, "size": DEFAULT_SIZE, **(given if isinstance(given, dict) else {})}
    ok = (isinstance(given, dict) and set(zoom) == {"context", "size"} and isinstance(zoom["size"], int)
          and isinstance(zoom["context"], (int, float)) and zoom["context"] >= 1 and zoom["size"] >= MIN_SIDE_PX)
    if not ok:
        raise CheckpointError(f"config.json: sva_region_zoom {given!r} is not {{\"context\": >= 1, \"size\": pixels "
                              f">= {MIN_SIDE_PX}}}; fix it or remove it for the defaults")
    return zoom


def zoom_to_region(image: np.ndarray, box: Sequence[float], context: float = DEFAULT_CONTEXT,
                   size: int = DEFAULT_SIZE) -> tuple[np.ndarray, Box]:
    """The square of side ``context`` x the box's longer side around the box's centre (at least MIN_SIDE_PX,
    clipped to the image), resized with PIL bicubic so its longer side is ``size``; and the box in the zoomed
    image's pixels."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    half = max(x1 - x0, y1 - y0, MIN_SIDE_PX / context) * context / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(max(0, np.floor(cx - half))), int(max(0, np.floor(cy - half)))
    right, bottom = int(min(w, np.ceil(cx + half))), int(min(h, np.ceil(cy + half)))
    crop = image[top:bottom, left:right]
    scale = size / max(crop.shape[:2])
    out_w, out_h = max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))
    zoomed = np.asarray(Image.fromarray(crop).resize((out_w, out_h), Image.BICUBIC))
    sx, sy = out_w / crop.shape[1], out_h / crop.shape[0]
    inside = ((x0 - left) * sx, (y0 - top) * sy, (x1 - left) * sx, (y1 - top) * sy)
    return zoomed, tuple(float(np.clip(v, 0, lim)) for v, lim in zip(inside, (out_w, out_h, out_w, out_h)))


def mark_region(image: np.ndarray, box: Sequence[float]) -> Image.Image:
    """The image with ``box`` (x0, y0, x1, y1, pixels) drawn on it as a red box, 2 px or 1/200 of the width."""
    marked = Image.fromarray(image)
    x0, y0, x1, y1 = (int(v) for v in box)
    ImageDraw.Draw(marked).rectangle((x0, y0, x1, y1), outline=(255, 0, 0), width=max(2, image.shape[1] // 200))
    return marked
