"""A synthetic world written to disk: an H.264 mp4 the real pipeline can index, and its ground truth as JSON.

Why: the demo and the accuracy test generate a fresh world from an unseen seed, index the mp4 like any
user video, and compare what the pipeline found with what the world knows. The video goes through the
same encoder as overlay videos (``write_overlay_video`` with no tracks: RGB frames encoded in process by PyAV,
libx264, yuv420p, all-or-nothing write), at the world's own frame rate, so frame ``i`` of the file is
frame ``i`` of the world, shown at ``i / fps`` seconds. World sizes are even, so no pixel is cropped.

The ground truth file holds the world's description (seed, config, objects, events in seconds) and each
object's per-frame track as a ``Masklet`` (visible mask as COCO RLE, tight box in pixels, exclusive end),
the currency the engine's tracker returns, so predictions and truth compare directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from sa2va_engine.masklet import Masklet
from sa2va_engine.synthetic.world import Background, Event, Occluder, World, WorldConfig, WorldObject
from tools.overlay_video import write_overlay_video
from tools.video_decode import DecodedFrame


class ObjectTrack(BaseModel):
    object_id: int
    masklet: Masklet = Field(description="one point per frame; expression is 'the <colour> <kind>'")


class WorldGroundTruth(BaseModel):
    """Everything known about a written world. Times are seconds, sizes and boxes pixels."""

    seed: int
    config: WorldConfig
    n_frames: int
    frame_times_s: list[float]
    background: Background
    occluder: Occluder | None
    objects: list[WorldObject]
    events: list[Event]
    tracks: list[ObjectTrack]

    def world(self) -> World:
        """The renderable world again (frames and masks identical to the one written)."""
        return World(seed=self.seed, config=self.config, background=self.background, occluder=self.occluder,
                     objects=self.objects, events=self.events)


def _frames(world: World) -> Iterator[DecodedFrame]:
    for i in range(world.n_frames):
        yield DecodedFrame(time_s=world.time_s(i), index=i, image=world.frame(i))


def write_world_video(world: World, path: Path) -> Path:
    """Encode the world's frames to an H.264 mp4 at ``path`` playing at the world's fps; returns ``path``.
    Raises VideoError naming ``path`` when it cannot be written (nothing is left there then)."""
    path = Path(path)
    write_overlay_video(_frames(world), [], path, world.config.fps)
    return path


def ground_truth(world: World) -> WorldGroundTruth:
    masklets = world.masklets()
    return WorldGroundTruth(
        seed=world.seed, config=world.config, n_frames=world.n_frames, frame_times_s=world.frame_times,
        background=world.background, occluder=world.occluder, objects=world.objects, events=world.events,
        tracks=[ObjectTrack(object_id=o.object_id, masklet=masklets[o.object_id]) for o in world.objects],
    )


def write_ground_truth(world: World, path: Path) -> Path:
    """Write the world's ground truth (see ``WorldGroundTruth``) as JSON at ``path``; returns ``path``."""
    path = Path(path)
    path.write_text(ground_truth(world).model_dump_json(indent=1), encoding="utf-8")
    return path


def read_ground_truth(path: Path) -> WorldGroundTruth:
    return WorldGroundTruth.model_validate_json(Path(path).read_text(encoding="utf-8"))
