"""One training example for Sa2VA: frames, a question, the answer to learn, and a mask track per `[SEG]`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrainSample:
    """``frames``: the clip SAM-2 runs through, RGB uint8 (H, W, 3), in time order. ``key_frames``: indices of
    the frames the LLM sees; SAM-2 is prompted by the `[SEG]` states on exactly those and carries the
    objects through the others with its memory, as `Sa2VA.track` does at inference. ``masks[i]``: bool
    (T, H, W) ground truth of the i-th `[SEG]` of ``answer`` on every frame (empty where the object is not
    visible). A text-only answer (caption, yes/no) has no `[SEG]` and no masks; SAM-2 is then not run.
    ``zoomed``: the frames are a region seen up close, as `Sa2VA.region_names` shows it, so they keep the
    processor's own pixel budget instead of the checkpoint's frame budget (sa2va_engine/frame_pixels.py)."""

    frames: list[np.ndarray]
    key_frames: list[int]
    question: str
    answer: str
    masks: list[np.ndarray] = field(default_factory=list)
    task: str = "chat"
    zoomed: bool = False

    def __post_init__(self) -> None:
        if not self.frames or not self.key_frames:
            raise ValueError("a training sample needs frames and at least one key frame")
        if max(self.key_frames) >= len(self.frames) or min(self.key_frames) < 0:
            raise ValueError(f"key frames {self.key_frames} outside the {len(self.frames)} frames")
        for m in self.masks:
            if m.shape[0] != len(self.frames) or m.shape[1:] != self.frames[0].shape[:2]:
                raise ValueError(f"mask track of shape {m.shape} does not match {len(self.frames)} frames of "
                                 f"{self.frames[0].shape[:2]}")
