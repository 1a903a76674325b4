"""A clip: the decoded frames of one time window of one video, the input every Sa2VA tool takes.

Frames are arrays, so a clip is built in-process (by the indexer from its single decode pass, or by
`decode_clip` for a query or a CLI command) and never serialised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sa2va_engine.key_frames import LLM_FRAMES, key_frame_indices
from tools.video_decode import DEFAULT_MAX_SIDE, DEFAULT_SAMPLE_FPS, DecodedFrame, decode_frames
from tools.video_error import VideoError



class Clip(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    video_path: str
    start_s: float = Field(description="seconds")
    end_s: float = Field(description="seconds")
    frames: list[DecodedFrame]

    def images(self) -> list[np.ndarray]:
        return [f.image for f in self.frames]

    def times(self) -> list[float]:
        return [f.time_s for f in self.frames]

    def key_indices(self, n: int = LLM_FRAMES) -> list[int]:
        """Positions of ``n`` frames spread evenly over the clip (first and last included): what the LLM sees."""
        return key_frame_indices(len(self.frames), n)

    def key_images(self, n: int = LLM_FRAMES) -> list[np.ndarray]:
        return [self.frames[i].image for i in self.key_indices(n)]


def decode_clip(video_path: str | Path, start_s: float = 0.0, end_s: float | None = None,
                sample_fps: float = DEFAULT_SAMPLE_FPS, max_side: int = DEFAULT_MAX_SIDE) -> Clip:
    """Frames of ``video_path`` in [start_s, end_s) seconds at ``sample_fps``; a window with no frame is a VideoError."""
    frames = list(decode_frames(video_path, sample_fps=sample_fps, max_side=max_side, start_s=start_s, end_s=end_s))
    if not frames:
        window = f"{start_s:g}-{end_s:g} s" if end_s is not None else f"from {start_s:g} s"
        raise VideoError(str(video_path), f"no frames in {window}")
    end = end_s if end_s is not None else frames[-1].time_s
    return Clip(video_path=str(video_path), start_s=start_s, end_s=end, frames=frames)
