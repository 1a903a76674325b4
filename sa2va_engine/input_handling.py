"""How a checkpoint wants its images prepared and its masks returned: the reference's way, or this project's own.

Official Sa2VA checkpoints were trained and evaluated by bytedance/Sa2VA's code, so they get exactly its handling
around the network (README, "Differences from the reference"):

- LLM images (Qwen-VL): each image first resized with PIL bicubic to multiples of 28 (qwen_vl_utils'
  ``fetch_image``), then the processor called with ``min_pixels=512*28*28, max_pixels=2048*28*28``;
- SAM-2's input: the frame resized to SAM-2's square size with PIL (bicubic), then ImageNet mean/std;
- masks: SAM-2's low-resolution logits upsampled (bilinear) to SAM-2's image size, then to the frame's size;
- an object SAM-2 scores absent keeps its mask logits (the reference disables SAM-2's -1024 overwrite).

The models this project trains itself (the shipped demo model) were trained with the handling named "direct"
(images straight to the checkpoint's processor, SAM-2's input resized on the device with antialiased bilinear,
one upsampling step, absent objects' masks emptied) and keep it: a checkpoint names its handling in config.json
under `CONFIG_KEY`, either by preset name or field by field; a checkpoint that names none is official.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from sa2va_engine.errors import CheckpointError

CONFIG_KEY = "sva_input_handling"


class InputHandling(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # "reference": qwen_vl_utils' resize to multiples of 28, then min/max pixels as the reference passes them;
    # "processor": the image as it is, with the checkpoint's own processor settings.
    llm_images: Literal["reference", "processor"] = "reference"
    # How a frame becomes SAM-2's square input: PIL bicubic on the host, or antialiased bilinear on the device.
    sam2_resize: Literal["pil_bicubic", "bilinear_antialias"] = "pil_bicubic"
    # Mask logits to the frame's size: through SAM-2's image size first (the reference), or in one step.
    mask_upsample: Literal["via_sam2_size", "direct"] = "via_sam2_size"
    # An object SAM-2 scores absent (score logit <= 0): "keep" its mask logits (the reference, for referring
    # segmentation) or "empty" them to -1024 as the sam2 package does (absence shown in the mask itself). Either
    # way a track point is present only when the score says so (TrackPoint.observed).
    absent_masks: Literal["keep", "empty"] = "keep"


REFERENCE = InputHandling()
DIRECT = InputHandling(llm_images="processor", sam2_resize="bilinear_antialias", mask_upsample="direct",
                       absent_masks="empty")
PRESETS = {"reference": REFERENCE, "direct": DIRECT}


def handling_of(raw: dict) -> InputHandling:
    """The handling a checkpoint's config.json names (a preset name or the fields); official (none named) ->
    the reference's."""
    value = raw.get(CONFIG_KEY)
    if value is None:
        return REFERENCE
    if isinstance(value, str):
        if value not in PRESETS:
            raise CheckpointError(f"config.json {CONFIG_KEY} {value!r}: not a known handling; use one of "
                                  f"{', '.join(PRESETS)} or a dict of its fields")
        return PRESETS[value]
    if isinstance(value, dict):
        try:
            return InputHandling(**value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise CheckpointError(f"config.json {CONFIG_KEY}: {'.'.join(map(str, first['loc']))}: {first['msg']}; "
                                  f"fix the field or name a preset ({', '.join(PRESETS)})") from None
    raise CheckpointError(f"config.json {CONFIG_KEY} is a {type(value).__name__}; give a preset name "
                          f"({', '.join(PRESETS)}) or a dict of fields")
