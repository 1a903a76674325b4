"""What moves in a chunk (tools/motion_regions.py): a moving object on a still, textured background is one region,
boxed where it is largest; a still scene, a camera pan, specks of noise, a one-frame flash and a chunk too short
for a background give none."""

from __future__ import annotations

import numpy as np
import pytest

from tools.motion_regions import MIN_CHUNK_FRAMES, moving_regions


def _background(h=120, w=160, seed=0):
    """A checkered, slightly noisy background (textured, as the demo worlds' and real scenes' are)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    image = np.where(((y // 14) + (x // 14)) % 2 == 0, 150, 120).astype(np.int16)[..., None].repeat(3, -1)
    return np.clip(image + rng.integers(-4, 5, image.shape), 0, 255).astype(np.uint8)


def _moving_square(n=8, size=16, step=8, grow_at=None):
    frames = []
    for i in range(n):
        image = _background(seed=i)  # the noise differs frame to frame, as a codec's does
        s = size + (6 if i == grow_at else 0)
        x = 20 + step * i
        image[60:60 + s, x:x + s] = (140, 40, 180)
        frames.append(image)
    return frames


def test_a_moving_object_is_one_region_boxed_where_it_is_largest():
    regions = moving_regions(_moving_square(grow_at=5))
    assert len(regions) == 1
    region = regions[0]
    assert region.frame_index == 5 and region.frames == 8
    assert region.box == pytest.approx((20 + 8 * 5, 60, 20 + 8 * 5 + 22, 82), abs=1)
    assert region.area == pytest.approx(22 * 22, rel=0.1)


def test_two_objects_are_two_regions_the_larger_first():
    frames = _moving_square()
    for i, image in enumerate(frames):
        # A bigger one coming the other way, above, faster than its own width in two frames (a slower one stands
        # in the median over its middle and shows as its two ends: the module's assumption).
        image[10:40, 155 - 18 * i - 30:155 - 18 * i] = (240, 220, 40)
    regions = moving_regions(frames)
    assert len(regions) == 2
    assert regions[0].area > regions[1].area
    assert regions[0].box[1] == pytest.approx(10, abs=1) and regions[1].box[1] == pytest.approx(60, abs=1)


def test_a_still_scene_has_no_moving_region():
    assert moving_regions([_background(seed=i) for i in range(8)]) == []


def test_a_camera_pan_is_no_moving_region():
    """Every pixel of a panned frame differs from the median: such frames say nothing about objects."""
    wide = np.concatenate([_background(w=320, seed=0)] * 1, axis=1)
    frames = [np.ascontiguousarray(wide[:, 11 * i:11 * i + 160]) for i in range(8)]
    assert moving_regions(frames) == []


def test_specks_and_a_one_frame_flash_are_no_moving_region():
    frames = [_background(seed=i) for i in range(8)]
    rng = np.random.default_rng(1)
    for image in frames:  # scattered single-pixel specks
        ys, xs = rng.integers(0, 120, 30), rng.integers(0, 160, 30)
        image[ys, xs] = 255
    frames[3][40:60, 40:60] = (255, 255, 255)  # a flash on one frame only
    assert moving_regions(frames) == []


def test_a_chunk_too_short_for_a_background_has_no_moving_region():
    assert moving_regions(_moving_square(n=MIN_CHUNK_FRAMES - 1)) == []
    assert moving_regions(_moving_square(n=MIN_CHUNK_FRAMES)) != []


def _real_chunk(shared_videos, name: str, start_s: float) -> list[np.ndarray]:
    """A 4-s chunk of a real clip at 4 fps, 320 px on its long side (as a chunk is analysed)."""
    from tools.video_decode import decode_frames

    stream = decode_frames(shared_videos / name, sample_fps=4.0, max_side=320, start_s=start_s, end_s=start_s + 4.0)
    return [frame.image for frame in stream]


@pytest.mark.parametrize("name, start_s, moves", [
    ("01_dog.mp4", 0.0, False),  # a dog in a garden, the camera on a tripod
    ("06_pingpong.mp4", 3.0, False),  # a table-tennis rally: the players move much of the frame, the camera not
    ("08_driving.mp4", 0.0, True),  # a car's dashboard camera
    ("11_polevault.mp4", 3.0, True),  # the camera pans with the vaulter
])
def test_real_footage_from_a_moving_camera_has_no_moving_regions(shared_videos, name, start_s, moves):
    """Few pixels of the driving and pole-vault chunks are far from their median (the share-of-pixels gate let them
    through), yet everything in them moves: the optical flow's median tells the camera's motion from the objects'."""
    from tools.motion_regions import camera_moves

    frames = _real_chunk(shared_videos, name, start_s)
    assert len(frames) >= 12
    assert camera_moves(frames) is moves
    assert (moving_regions(frames) == []) is moves


def test_a_slow_pan_over_a_low_contrast_background_is_a_moving_camera():
    """A pan of 2 pixels a frame over a checkered background of 30 levels' contrast: no pixel is far enough from
    the median to trip the share gate, yet the camera moves."""
    from tools.motion_regions import camera_moves

    wide = _background(w=400)
    frames = [np.ascontiguousarray(wide[:, 2 * i:2 * i + 160]) for i in range(12)]
    assert camera_moves(frames)
    assert moving_regions(frames) == []
    assert not camera_moves(_moving_square())
