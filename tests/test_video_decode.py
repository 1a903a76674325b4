"""Streaming decode on good inputs of every kind: times, sizes, rotation, windows, early stop."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from tests.video_fixtures import (  # noqa: F401
    clip, ffmpeg_exe, gif, jpeg_image, media, mkv, mpegts, odd_name, odd_size, one_frame, png_image, rotated, video_8k,
    vfr_with_gap, webm_vp9,
)
from tools.video_decode import DecodedFrame, decode_frames, output_size
from tools.video_prober import probe_video


def _times(frames: list[DecodedFrame]) -> list[float]:
    return [f.time_s for f in frames]


def test_default_two_fps_exact_times_and_size(clip) -> None:
    stream = decode_frames(clip, max_side=320)
    frames = list(stream)
    # 24 fps: every slot of 0.5 s starts exactly on a frame, so the times are the grid itself.
    assert _times(frames) == pytest.approx([k * 0.5 for k in range(20)], abs=1e-9)
    assert [f.index for f in frames] == list(range(20))
    assert all(f.image.shape == (180, 320, 3) and f.image.dtype == np.uint8 for f in frames)
    assert stream.warnings == [] and stream.frames_decoded == 20 and stream.last_time_s == pytest.approx(9.5)
    assert frames[0].image.flags.writeable


def test_ntsc_times_are_true_presentation_times() -> None:
    from tests.video_fixtures import shared

    frames = list(decode_frames(shared("01_dog.mp4"), max_side=64))
    # 29.97 fps: the first frame of each 0.5 s slot is frame ceil(k * 14.985), at pts * 1001 / 30000 s.
    expected = [np.ceil(k * 0.5 * 30000 / 1001 - 1e-9) * 1001 / 30000 for k in range(20)]
    assert _times(frames) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("rate", [1.0, 5.0, 12.0])
def test_other_sample_rates(clip, rate: float) -> None:
    times = _times(list(decode_frames(clip, sample_fps=rate, max_side=64)))
    assert len(times) == pytest.approx(9.58 * rate, abs=1.01)
    gaps = np.diff(times)
    assert np.all(gaps > 0)
    # never two frames in one slot, never a slot skipped (the clip is constant-rate)
    assert set(np.floor(np.array(times) * rate + 1e-6).astype(int)) == set(range(len(times)))
    assert gaps.max() < 1 / rate + 1 / 24 + 1e-6


def test_window_decode_matches_full_decode(clip) -> None:
    full = {round(t, 6) for t in _times(list(decode_frames(clip, max_side=64)))}
    window = _times(list(decode_frames(clip, max_side=64, start_s=3.0, end_s=6.5)))
    assert window == pytest.approx([3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0])
    assert {round(t, 6) for t in window} <= full


@pytest.mark.parametrize("start, end", [(1.2, 3.0), (0.5, 0.6), (7.0, 20.0)])
def test_window_is_half_open_and_exact(clip, start: float, end: float) -> None:
    full = _times(list(decode_frames(clip, max_side=32)))
    window = _times(list(decode_frames(clip, max_side=32, start_s=start, end_s=end)))
    expected = [t for t in full if start <= t < end]
    if start == 1.2:  # off the slot grid: the slot 1.0-1.5 restarts at the window's first frame
        expected = [29 / 24] + expected
    # After a seek, times are still each frame's own timestamp: exact.
    assert window == pytest.approx(expected, abs=1e-9)


def test_window_without_index(mpegts) -> None:
    full = _times(list(decode_frames(mpegts, max_side=32)))
    assert full[0] == 0.0  # the clock starts at the first frame, not at the container's 1.4 s
    stream = decode_frames(mpegts, max_side=32, start_s=1.0, end_s=3.0)
    assert _times(list(stream)) == pytest.approx([t for t in full if 1.0 <= t < 3.0]) and stream.warnings == []


def test_failed_seek_falls_back_to_decoding_from_the_start(mpegts, monkeypatch) -> None:
    import tools.video_decode as video_decode

    # Pretend MPEG-TS had an index: the seek lands mid-GOP, nothing decodes, the fallback must save it.
    monkeypatch.setattr(video_decode, "_INDEXED_CONTAINERS", {"mpegts"})
    stream = decode_frames(mpegts, max_side=32, start_s=1.0, end_s=3.0)
    assert _times(list(stream)) == pytest.approx([1.0, 1.5, 2.0, 2.5])


def test_rotation_is_applied(rotated, clip) -> None:
    upright = list(decode_frames(rotated, max_side=320, end_s=2.0))
    plain = list(decode_frames(clip, max_side=320, end_s=2.0))
    assert len(upright) == len(plain) == 4
    assert upright[0].image.shape == (320, 180, 3)  # portrait: width and height swapped
    # The file says "turn 90 degrees counterclockwise"; the picture comes out turned that way.
    assert np.array_equal(upright[1].image, np.rot90(plain[1].image, k=1))


def test_rotation_agrees_with_ffmpeg_autorotate(rotated) -> None:
    ours = next(iter(decode_frames(rotated, max_side=320))).image.astype(int)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(rotated), "-frames:v", "1", "-vf",
                          "scale=180:320:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(320, 180, 3).astype(int)
    assert np.abs(ours - theirs).mean() < 4  # same orientation; only the order of scale and turn differs


def test_8k_comes_out_small(video_8k) -> None:
    stream = decode_frames(video_8k, max_side=512)
    assert stream.probe.width == 7680
    frames = list(stream)
    assert len(frames) == 4
    assert all(f.image.shape == (288, 512, 3) for f in frames)


def test_odd_dimensions(odd_size) -> None:
    stream = decode_frames(odd_size, max_side=1024)
    frames = list(stream)
    assert (stream.probe.width, stream.probe.height) == (321, 241)
    assert frames[0].image.shape == (241, 321, 3)  # never enlarged, odd sizes kept
    small = list(decode_frames(odd_size, max_side=100))
    assert small[0].image.shape == (75, 100, 3)


def test_one_frame_video(one_frame) -> None:
    frames = list(decode_frames(one_frame))
    assert len(frames) == 1 and frames[0].time_s == 0.0


def test_vfr_gap_is_not_filled(vfr_with_gap) -> None:
    stream = decode_frames(vfr_with_gap)
    times = _times(list(stream))
    assert stream.warnings == []
    assert times[:4] == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert not any(2.0 <= t <= 5.0 for t in times)  # no frame invented inside the gap
    after = [t for t in times if t > 5.0]
    assert after[0] == pytest.approx(5.125)  # first frame kept after the gap, at its true time
    assert np.all(np.diff(times) > 0) and np.diff(after).max() <= 0.5 + 1e-6


def test_images_are_one_frame(jpeg_image, png_image) -> None:
    jpeg = list(decode_frames(jpeg_image, max_side=256))
    png = list(decode_frames(png_image, max_side=10_000, sample_fps=30))
    assert [f.time_s for f in jpeg] == [0.0] and jpeg[0].image.shape == (144, 256, 3)
    assert [f.time_s for f in png] == [0.0] and png[0].image.shape == (361, 641, 3)


@pytest.mark.parametrize("fixture", ["gif", "webm_vp9", "mkv"])
def test_other_containers_play_like_video(fixture: str, request) -> None:
    path = request.getfixturevalue(fixture)
    stream = decode_frames(path, sample_fps=4)
    times = _times(list(stream))
    # A slot is 0.25 s; each frame is the first at or after its slot's start, so gaps are 0.25 +- 1 source frame.
    assert len(times) == 8 and times[0] == 0.0 and np.all(np.diff(times) > 0.25 - 0.1 - 1e-6)
    assert stream.warnings == []


def test_unicode_and_spaces_in_name(odd_name) -> None:
    assert " " in odd_name.name and "é" in odd_name.name
    assert len(list(decode_frames(odd_name, max_side=64))) == 20


def test_stopping_early_releases_the_file(clip) -> None:
    stream = decode_frames(clip, max_side=64)
    iterator = iter(stream)
    first = next(iterator)
    assert _open_descriptors(clip) != []  # the decoder is reading it
    iterator.close()  # what a `break` in a for loop does
    assert first.time_s == 0.0 and stream.frames_decoded == 1
    assert _open_descriptors(clip) == []


def _open_descriptors(path) -> list[str]:
    """This process's open file descriptors on ``path`` (Linux /proc)."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc")
    found = []
    for entry in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{entry}") == os.path.realpath(path):
                found.append(entry)
        except OSError:
            continue
    return found


def test_output_size_rounds_and_caps(clip) -> None:
    probe = probe_video(clip)
    assert output_size(probe, 1024) == (1024, 576)
    assert output_size(probe, 5000) == (1280, 720)
    assert output_size(probe.model_copy(update={"rotation_deg": 90}), 100) == (56, 100)


def test_bad_arguments_are_programmer_errors(clip) -> None:
    with pytest.raises(ValueError):
        decode_frames(clip, sample_fps=0)
    with pytest.raises(ValueError):
        decode_frames(clip, start_s=5, end_s=5)
