"""The size at which Qwen-VL Sa2VA checkpoints see an image: the reference's two steps, as numbers and a processor.

The reference prepares every image (a video's frames too: they are images to it) with qwen_vl_utils'
``process_vision_info`` and then calls the processor with fixed pixel bounds:

1. ``fetch_image``: round each side to a multiple of 28 (keeping at least 4 and at most 16384 28-px cells),
   resize with PIL's default filter (bicubic);
2. ``processor(..., min_pixels=512*28*28, max_pixels=2048*28*28)``: the image processor resizes again to its own
   factor (28 for Qwen2.5-VL, 32 for Qwen3-VL) within those bounds.

A 1280x720 frame is 920 tokens (grid 46x80) for Qwen3-VL this way; with Sa2VA-Qwen3-VL-4B's own processor settings
alone it would be 880 tokens (44x80) of other pixels. `ReferenceSizedProcessor` wraps a checkpoint's processor so every call made
with images (generation, forced [SEG] passes, batches, training) does both steps.
"""

from __future__ import annotations

import math

from PIL import Image

FETCH_FACTOR = 28  # qwen_vl_utils' image factor: patch 14 x merge 2, also for Qwen3-VL (the reference passes none)
FETCH_MIN_PIXELS = 4 * 28 * 28
FETCH_MAX_PIXELS = 16384 * 28 * 28
MAX_ASPECT = 200
PROCESSOR_MIN_PIXELS = 512 * 28 * 28
PROCESSOR_MAX_PIXELS = 2048 * 28 * 28


def rounded_size(height: int, width: int, factor: int = FETCH_FACTOR, min_pixels: int = FETCH_MIN_PIXELS,
                 max_pixels: int = FETCH_MAX_PIXELS) -> tuple[int, int]:
    """(height, width): both multiples of ``factor``, the area within the bounds, the aspect kept as near as can be."""
    if max(height, width) / min(height, width) > MAX_ASPECT:
        raise ValueError(f"an image of {width}x{height} px: aspect ratio over {MAX_ASPECT}")
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h, w = math.floor(height / beta / factor) * factor, math.floor(width / beta / factor) * factor
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h, w = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h, w


def fetch_resize(image: Image.Image) -> Image.Image:
    """Step 1: the image in RGB at `rounded_size`, resized with PIL bicubic (unchanged when already that size)."""
    image = image.convert("RGB")
    height, width = rounded_size(image.height, image.width)
    if (width, height) == image.size:
        return image
    return image.resize((width, height), Image.Resampling.BICUBIC)


class ReferenceSizedProcessor:
    """A Qwen-VL processor that sizes images as the reference does; everything else is the wrapped processor's."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, text=None, images=None, **kwargs):
        if images:
            images = [fetch_resize(image) for image in images]
            kwargs.setdefault("min_pixels", PROCESSOR_MIN_PIXELS)
            kwargs.setdefault("max_pixels", PROCESSOR_MAX_PIXELS)
        return self.processor(text=text, images=images, **kwargs)

    def __getattr__(self, name):
        return getattr(self.processor, name)
