"""What one probe learns about a video (or a still image): the currency every later video step is given.

Sizes are pixels; times are seconds; ``rotation_deg`` is how far the stored picture must be turned
clockwise to be shown upright (0, 90, 180 or 270), whatever convention the container used.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field


class VideoProbe(BaseModel):
    path: str
    container: str = Field(description="FFmpeg's demuxer name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2'")
    codec: str = Field(description="codec of the video stream, e.g. 'h264', 'vp9', 'gif', 'mjpeg'")
    video_stream: int = Field(description="absolute index of the chosen video stream in the file")
    width: int = Field(description="stored width in pixels, before rotation")
    height: int = Field(description="stored height in pixels, before rotation")
    sample_aspect_ratio: float = Field(default=1.0, description="pixel width / pixel height; 1 for square pixels")
    rotation_deg: int = Field(default=0, description="clockwise turn needed to show the picture upright")
    duration_s: float | None = Field(description="seconds; 0 for an image, None where the container does not say")
    start_s: float = Field(default=0.0, description="the container's own start time; for information only, "
                           "decoded times count from the first frame's clock (see video_decode)")
    avg_fps: float | None = Field(description="frames per second averaged over the stream")
    real_fps: float | None = Field(description="the stream's base rate (FFmpeg's r_frame_rate, the lowest rate "
                                   "that represents all its timestamps)")
    frame_count: int | None = Field(default=None, description="frames in the video stream where known")
    has_audio: bool
    is_image: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_width(self) -> int:
        """Width in pixels as shown: square pixels, rotation applied."""
        return self._display_size()[0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_height(self) -> int:
        return self._display_size()[1]

    def _display_size(self) -> tuple[int, int]:
        # Non-square pixels are stretched (never squeezed) so that no stored detail is thrown away.
        width, height, sar = self.width, self.height, self.sample_aspect_ratio
        if sar > 1:
            width = round(width * sar)
        elif 0 < sar < 1:
            height = round(height / sar)
        return (height, width) if self.rotation_deg in (90, 270) else (width, height)

    def summary(self) -> str:
        """One human line, as `sva probe` prints it."""
        duration = "image" if self.is_image else (f"{self.duration_s:.2f} s" if self.duration_s is not None else "duration unknown")
        size = f"{self.display_width}x{self.display_height}"
        if self.rotation_deg:
            size += f" (stored {self.width}x{self.height}, rotated {self.rotation_deg} deg)"
        parts = [duration, size, self.codec]
        if not self.is_image:
            if self.avg_fps is not None:
                fps = f"{self.avg_fps:.4g} fps"
                if self.real_fps is not None and abs(self.real_fps - self.avg_fps) > 0.01:
                    fps += f" (real {self.real_fps:.4g})"
                parts.append(fps)
            if self.frame_count is not None:
                parts.append(f"{self.frame_count} frames")
            parts.append("audio" if self.has_audio else "no audio")
        return f"{self.path}: " + ", ".join(parts)
