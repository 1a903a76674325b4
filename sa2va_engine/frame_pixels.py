"""A pixel budget for the frames the LLM sees, apart from the regions it sees up close.

Why: a Qwen-VL processor resizes every image of a call to one budget (`size.longest_edge`, pixels). The demo
checkpoint's is 16,384: a whole frame is 12 LLM tokens, and a region zoomed for naming 16, the object itself about
2 x 2 of them, too few to tell a box from a ball (names-only fine-tunes from the same weights, measured on unseen
worlds: 0.81 of objects named right at that budget, 0.95 at four times it; bench/README.md). Raising the processor's
budget alone would give every frame four times the tokens too (four times the LLM's work per chunk). So a
checkpoint may say `"sva_frame_pixels": N` in its config.json: frames are shrunk to at most N pixels before the
processor (sides multiples of `FACTOR`, as the processor itself resizes), and only the zoomed regions of
`Sa2VA.region_names` go at the processor's own budget. Without the key, images go to the processor as they are.
"""

from __future__ import annotations

from PIL import Image

from sa2va_engine.qwen_image_sizing import rounded_size

# The Qwen-VL processors' resize unit: patch 16 x merge 2 (Qwen3-VL; 14 x 2 = 28 for Qwen2.5-VL gives sides that are
# also whole patches after its own rounding, so the processor leaves them as they are or rounds once).
FACTOR = 32
MIN_FRAME_PIXELS = FACTOR * FACTOR


def frame_pixels(raw_config: dict) -> int | None:
    """The checkpoint's `sva_frame_pixels`, or None; a value that is not a whole number of pixels >=
    `MIN_FRAME_PIXELS` is a CheckpointError naming it (the model's config.json is wrong, not the input)."""
    from sa2va_engine.errors import CheckpointError

    given = raw_config.get("sva_frame_pixels")
    if given is None:
        return None
    if isinstance(given, bool) or not isinstance(given, int) or given < MIN_FRAME_PIXELS:
        raise CheckpointError(f"config.json: sva_frame_pixels {given!r} is not a whole number of pixels >= "
                              f"{MIN_FRAME_PIXELS}; fix it or remove it to give frames the processor's own budget")
    return given


def shrunk(image: Image.Image, budget: int | None) -> Image.Image:
    """``image`` shrunk to at most ``budget`` pixels as the processor shrinks an image over its own budget
    (`qwen_image_sizing.rounded_size`: both sides scaled by one factor, floored to multiples of `FACTOR`); unchanged
    when it fits (the processor then rounds it as it always did) or there is no budget."""
    if budget is None or image.width * image.height <= budget:
        return image
    height, width = rounded_size(image.height, image.width, factor=FACTOR, min_pixels=1, max_pixels=budget)
    return image.resize((max(FACTOR, width), max(FACTOR, height)), Image.Resampling.BICUBIC)
