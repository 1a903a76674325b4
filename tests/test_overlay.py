"""Overlay drawing and overlay videos: colours per label, mask scaling, real encode and decode back."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sa2va_engine.masklet import Masklet, TrackPoint
from tools.overlay_draw import PALETTE, draw_tracks, label_colour, thumbnail
from tools.overlay_video import (
    OverlayReport,
    points_at,
    track_tolerance_s,
    write_overlay_video,
)
from tools.video_decode import DecodedFrame, decode_frames
from tools.video_error import VideoError
from tools.video_prober import probe_video

REPO = Path(__file__).resolve().parents[1]


def _rect(height: int, width: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _grey(height: int, width: int, value: int = 100) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.uint8)


# --- colours -------------------------------------------------------------------------------------


def test_label_colour_is_the_same_in_every_process() -> None:
    here = label_colour("the brown dog")
    assert here in PALETTE and label_colour("the brown dog") == here
    code = "from tools.overlay_draw import label_colour; print(list(label_colour('the brown dog')))"
    for seed in ("1", "987"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", code]
        run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == str(list(here))


def test_palette_is_distinct_and_labels_spread_over_it() -> None:
    assert len(set(PALETTE)) == len(PALETTE) >= 10
    colours = {label_colour(f"object number {i}") for i in range(40)}
    assert len(colours) >= 8


# --- drawing one frame ---------------------------------------------------------------------------


def test_mask_is_blended_box_outlined_input_untouched() -> None:
    image = _grey(120, 160)
    before = image.copy()
    point = TrackPoint.from_mask(1.0, _rect(120, 160, 50, 90, 60, 120), score=0.87)
    drawn = draw_tracks(image, [(point, "dog")], alpha=0.5)
    colour = np.array(label_colour("dog"))
    assert drawn is not image and np.array_equal(image, before)
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    expected = np.round(100 * 0.5 + colour * 0.5)
    assert np.abs(drawn[70, 90].astype(int) - expected).max() <= 1  # inside: blended
    assert np.array_equal(drawn[70, 60], colour)  # left edge of the box: the outline
    assert np.array_equal(drawn[100:, :], image[100:, :])  # below the box: nothing
    assert np.array_equal(drawn[:, :55], image[:, :55])  # left of the box and its label: nothing
    assert not np.array_equal(drawn[30:50, 60:120], image[30:50, 60:120])  # the label sits above the box


def test_absent_points_draw_nothing() -> None:
    image = _grey(60, 80)
    low_score = TrackPoint.from_mask(0.0, _rect(60, 80, 10, 30, 10, 30), score=0.2)
    empty = TrackPoint.from_mask(0.0, np.zeros((60, 80), dtype=bool), score=0.9)
    assert not low_score.present and not empty.present
    drawn = draw_tracks(image, [(low_score, "a"), (empty, "b")])
    assert np.array_equal(drawn, image)
    assert np.array_equal(draw_tracks(image, []), image)


def test_mask_from_a_larger_frame_is_scaled_to_the_image() -> None:
    # The tracker saw 400 x 200; the image is half that size, so everything halves.
    point = TrackPoint.from_mask(0.0, _rect(200, 400, 80, 160, 200, 360), score=0.9)
    image = _grey(100, 200)
    drawn = draw_tracks(image, [(point, "ball")], alpha=0.5)
    colour = np.array(label_colour("ball"))
    tinted = np.any(drawn != image, axis=2)
    rows, cols = np.nonzero(tinted[45:, :])  # below the label
    assert (rows.min() + 45, rows.max() + 45, cols.min(), cols.max()) == (45, 79, 100, 179)
    assert np.array_equal(drawn[60, 100], colour) and np.array_equal(drawn[60, 179], colour)  # outline, scaled
    assert np.abs(drawn[60, 140].astype(int) - np.round(50 + colour * 0.5)).max() <= 1
    # And the other way: a mask from a smaller frame grows with nearest-neighbour (no soft edge).
    small = TrackPoint.from_mask(0.0, _rect(50, 100, 20, 40, 50, 90), score=0.9)
    grown = draw_tracks(image, [(small, "ball")], alpha=0.5)
    assert np.array_equal(np.any(grown[45:] != image[45:], axis=2), tinted[45:])


def test_thumbnail_shrinks_then_draws() -> None:
    image = _grey(720, 1280)
    point = TrackPoint.from_mask(0.0, _rect(720, 1280, 360, 720, 640, 1280), score=0.95)
    thumb = thumbnail(image, [(point, "dog")], max_side=320)
    assert thumb.shape == (180, 320, 3)
    assert np.any(thumb[170, 250] != 100) and np.all(thumb[170, 100] == 100)
    assert thumbnail(_grey(40, 60), [], max_side=320).shape == (40, 60, 3)  # never enlarged


# --- which point goes on which frame -------------------------------------------------------------


def _masklet(label: str, times: list[float], present: bool = True) -> Masklet:
    mask = _rect(20, 20, 5, 15, 5, 15)
    score = 0.9 if present else 0.1
    return Masklet(expression=label, points=[TrackPoint.from_mask(t, mask, score) for t in times])


def test_points_at_takes_the_nearest_point_within_tolerance() -> None:
    dog = _masklet("dog", [1.0, 0.0, 0.5])  # out of order on purpose
    ball = _masklet("ball", [2.0])
    assert [(p.time_s, label) for p, label in points_at([dog, ball], 0.6, 0.25)] == [(0.5, "dog")]
    assert [(p.time_s, label) for p, label in points_at([dog, ball], 1.9, 0.25)] == [(2.0, "ball")]
    assert points_at([dog, ball], 1.4, 0.25) == []
    assert points_at([dog], 0.25, 0.25)[0][0].time_s == 0.0  # a tie goes to the earlier point
    assert points_at([], 1.0, 1.0) == []
    absent = _masklet("cat", [0.0], present=False)
    assert [p.present for p, _ in points_at([absent], 0.0, 0.1)] == [False]


def test_track_tolerance_is_half_its_own_spacing() -> None:
    assert track_tolerance_s(_masklet("a", [0.0, 0.5, 1.0, 1.5]), fallback_s=9.0) == pytest.approx(0.251)
    assert track_tolerance_s(_masklet("a", [3.0]), fallback_s=0.1) == 0.1


# --- overlay videos ------------------------------------------------------------------------------

FPS = 5.0


@pytest.fixture(scope="module")
def dog_window(shared_videos) -> list[DecodedFrame]:
    return list(decode_frames(shared_videos / "01_dog.mp4", sample_fps=FPS, max_side=320, start_s=2.0, end_s=4.0))


def _moving_box(frame: DecodedFrame) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the synthetic object on this frame: 60 px square sliding right by 12 px a frame."""
    x0 = 30 + 12 * frame.index
    return 70, 130, x0, x0 + 60


def _top_level_boxes(path: Path) -> list[str]:
    data, names, at = path.read_bytes(), [], 0
    while at + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[at: at + 8])
        names.append(name.decode("latin-1"))
        if size == 1:
            size = struct.unpack(">Q", data[at + 8: at + 16])[0]
        if size < 8:
            break
        at += size
    return names


def test_overlay_video_plays_in_a_browser_and_shows_the_masks(dog_window, tmp_path) -> None:
    frames = dog_window
    assert len(frames) == 10 and frames[0].image.shape == (180, 320, 3)
    dog_points = []
    for frame in frames:
        y0, y1, x0, x1 = _moving_box(frame)
        dog_points.append(TrackPoint.from_mask(frame.time_s, _rect(180, 320, y0, y1, x0, x1), score=0.9))
    # A second object, present on the first half only: the second half must show nothing of it.
    ball_mask = _rect(180, 320, 140, 170, 250, 300)
    ball_points = [TrackPoint.from_mask(f.time_s, ball_mask, 0.9 if f.index < 5 else 0.1) for f in frames]
    masklets = [Masklet(expression="dog", points=dog_points), Masklet(expression="ball", points=ball_points)]
    out = tmp_path / "overlay.mp4"

    report = write_overlay_video(frames, masklets, out, fps=FPS)

    assert report == OverlayReport(path=str(out), frames=10, duration_s=2.0, width=320, height=180)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overlay.mp4"]  # no .part left behind
    probe = probe_video(out, count_frames=True)
    assert (probe.codec, probe.width, probe.height, probe.frame_count) == ("h264", 320, 180, 10)
    assert probe.duration_s == pytest.approx(2.0, abs=0.05) and probe.avg_fps == pytest.approx(FPS)
    boxes = _top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: playable while downloading

    back = list(decode_frames(out, sample_fps=FPS, max_side=320))
    assert [f.time_s for f in back] == pytest.approx([k / FPS for k in range(10)], abs=1e-3)
    dog, ball = np.array(label_colour("dog"), float), np.array(label_colour("ball"), float)
    for original, encoded in zip(frames, back, strict=True):
        y0, y1, x0, x1 = _moving_box(original)
        src, got = original.image.astype(float), encoded.image.astype(float)
        # Inside (a few pixels in from the edge, where chroma subsampling blurs): the 0.45 blend.
        inner = (slice(y0 + 4, y1 - 4), slice(x0 + 4, x1 - 4))
        expected = src[inner] * 0.55 + dog * 0.45
        assert np.abs(got[inner] - expected).mean() < 8
        assert np.abs(got[inner] - src[inner]).mean() > 25
        # Outside: far from the box and its label, and from the ball, the picture is the source's.
        away = np.ones((180, 320), dtype=bool)
        away[max(0, y0 - 40): y1 + 12, max(0, x0 - 12): x1 + 80] = False
        away[115:, 225:] = False
        assert np.abs(got[away] - src[away]).mean() < 4
        ball_inner = got[146:164, 258:292] - src[146:164, 258:292]
        if original.index < 5:
            assert np.abs(got[146:164, 258:292] - (src[146:164, 258:292] * 0.55 + ball * 0.45)).mean() < 8
        else:
            assert np.abs(ball_inner).mean() < 4


def test_sparse_track_covers_every_frame(dog_window, tmp_path) -> None:
    # Track points on every other frame only (2.5 fps): half their spacing still reaches each frame.
    mask = _rect(180, 320, 40, 140, 100, 220)
    sparse = Masklet(expression="dog", points=[TrackPoint.from_mask(f.time_s, mask, 0.9) for f in dog_window[::2]])
    out = tmp_path / "sparse.mp4"
    write_overlay_video(dog_window, [sparse], out, fps=FPS)
    back = list(decode_frames(out, sample_fps=FPS, max_side=320))
    colour = np.array(label_colour("dog"), float)
    for original, encoded in zip(dog_window, back, strict=True):
        src, got = original.image[60:120, 120:200].astype(float), encoded.image[60:120, 120:200].astype(float)
        assert np.abs(got - (src * 0.55 + colour * 0.45)).mean() < 8


def _synthetic(count: int, width: int, height: int) -> list[DecodedFrame]:
    """``count`` flat frames of ``width`` x ``height`` px, 0.1 s apart, each a different grey."""
    return [DecodedFrame(k / 10, k, _grey(height, width, (40 + 20 * k) % 250)) for k in range(count)]


def test_odd_sizes_become_even(tmp_path) -> None:
    out = tmp_path / "odd.mp4"
    report = write_overlay_video(_synthetic(4, 161, 91), [], out, fps=10)
    assert (report.width, report.height, report.frames, report.duration_s) == (160, 90, 4, pytest.approx(0.4))
    probe = probe_video(out, count_frames=True)
    assert (probe.codec, probe.width, probe.height, probe.frame_count) == ("h264", 160, 90, 4)
    tiny = write_overlay_video(_synthetic(2, 1, 1), [], tmp_path / "tiny.mp4", fps=10)
    assert (tiny.width, tiny.height) == (2, 2)


# --- failures: one line, naming the file, and nothing left at out --------------------------------


def _assert_one_line(exc: pytest.ExceptionInfo[VideoError], out: Path, words: str) -> None:
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"{out}: ") and words in message


def test_missing_output_folder(tmp_path) -> None:
    out = tmp_path / "nope" / "overlay.mp4"
    with pytest.raises(VideoError) as exc:
        write_overlay_video(_synthetic(2, 32, 32), [], out, fps=5)
    _assert_one_line(exc, out, "does not exist")
    assert not out.parent.exists()


def test_output_is_a_directory(tmp_path) -> None:
    with pytest.raises(VideoError) as exc:
        write_overlay_video(_synthetic(2, 32, 32), [], tmp_path, fps=5)
    _assert_one_line(exc, tmp_path, "is a directory")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_output_folder(tmp_path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(VideoError) as exc:
        write_overlay_video(_synthetic(2, 32, 32), [], folder / "o.mp4", fps=5)
    _assert_one_line(exc, folder / "o.mp4", "not writable")


def test_no_frames(tmp_path) -> None:
    out = tmp_path / "empty.mp4"
    with pytest.raises(VideoError) as exc:
        write_overlay_video(iter([]), [], out, fps=5)
    _assert_one_line(exc, out, "no frames")
    assert list(tmp_path.iterdir()) == []


def test_encoder_failure_keeps_the_old_file_and_leaves_no_part(tmp_path, monkeypatch) -> None:
    from tools import overlay_video

    folder = tmp_path / "videos"
    folder.mkdir()
    out = folder / "overlay.mp4"
    out.write_bytes(b"the previous overlay")
    monkeypatch.setattr(overlay_video, "H264_ENCODER", "no-such-h264-encoder")
    with pytest.raises(VideoError) as exc:
        write_overlay_video(_synthetic(30, 64, 48), [], out, fps=5)
    _assert_one_line(exc, out, "no-such-h264-encoder")
    assert out.read_bytes() == b"the previous overlay"
    assert [p.name for p in folder.iterdir()] == ["overlay.mp4"]


def test_error_while_decoding_stops_the_encoder_and_leaves_nothing(tmp_path) -> None:
    def frames():
        yield from _synthetic(3, 64, 48)
        raise VideoError("in.mp4", "no frame could be decoded (broken)")

    out = tmp_path / "overlay.mp4"
    with pytest.raises(VideoError, match="in.mp4: no frame"):
        write_overlay_video(frames(), [], out, fps=5)
    assert list(tmp_path.iterdir()) == []
