"""Probing with PyAV: container and stream metadata of real files of every kind, never FFmpeg's printed text."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.video_fixtures import (  # noqa: F401
    CLIP, SHARED_VIDEOS, Media, clip, ffmpeg, gif, jpeg_image, media, mkv, png_image, rotated, shared, webm_vp9,
)

from tools.video_error import VideoError
from tools.video_prober import probe_many, probe_video

# ---------------------------------------------------------------- real files


@pytest.mark.parametrize(
    "name, duration, fps, audio",
    [("01_dog.mp4", 9.66, 30000 / 1001, True), ("06_pingpong.mp4", 9.58, 24.0, True), ("11_polevault.mp4", 10.0, 25.0, False)],
)
def test_probe_shared_clips(name: str, duration: float, fps: float, audio: bool) -> None:
    probe = probe_video(shared(name))
    assert probe.duration_s == pytest.approx(duration, abs=0.02)
    assert probe.avg_fps == pytest.approx(fps, abs=1e-6)
    assert (probe.width, probe.height, probe.rotation_deg, probe.codec) == (1280, 720, 0, "h264")
    assert probe.has_audio is audio


def test_count_frames(clip) -> None:
    probe = probe_video(clip, count_frames=True)
    assert probe.frame_count == 230  # 9.58 s at 24 fps
    assert probe_video(clip).frame_count in (None, 230)  # only ffprobe knows it without counting


def test_probe_rotated(rotated) -> None:
    probe = probe_video(rotated)
    assert probe.rotation_deg == 270
    assert (probe.width, probe.height, probe.display_width, probe.display_height) == (1280, 720, 720, 1280)


def test_probe_other_formats(jpeg_image, png_image, gif, webm_vp9, mkv) -> None:
    jpeg, png, anim, vp9, matroska = probe_many([jpeg_image, png_image, gif, webm_vp9, mkv])
    assert jpeg.is_image and jpeg.codec == "mjpeg" and (jpeg.width, jpeg.height) == (1280, 720)
    assert png.is_image and (png.width, png.height) == (641, 361)
    assert not anim.is_image and anim.codec == "gif" and anim.duration_s == pytest.approx(2.0, abs=0.05)
    assert vp9.codec == "vp9" and vp9.container.startswith("matroska")
    assert matroska.codec == "h264" and matroska.has_audio


def test_probe_many_keeps_going(clip, tmp_path) -> None:
    results = probe_many([tmp_path / "missing.mp4", clip, tmp_path])
    assert [type(r).__name__ for r in results] == ["VideoError", "VideoProbe", "VideoError"]
    assert str(results[0]) == f"{tmp_path / 'missing.mp4'}: no such file"
    assert results[1].path == str(clip)


def test_probe_keeps_the_users_path_spelling(clip, monkeypatch) -> None:
    monkeypatch.chdir(SHARED_VIDEOS)
    probe = probe_video(CLIP)
    assert probe.path == CLIP and probe.summary().startswith(f"{CLIP}: 9.58 s, 1280x720, h264, 24 fps")
    with pytest.raises(VideoError, match=r"^nope\.mp4: no such file$"):
        probe_video("nope.mp4")


def test_cover_art_is_not_a_video(media: Media, clip: Path, jpeg_image: Path) -> None:
    """A song with its cover picture stored as a video stream (disposition attached_pic) is audio only."""
    song = media.get("cover.m4a", lambda out: ffmpeg("-i", clip, "-i", jpeg_image, "-map", "0:a", "-map", "1:v",
                                                       "-c:a", "copy", "-c:v", "mjpeg", "-disposition:v:0",
                                                       "attached_pic", "-t", "2", "-f", "mp4", out))
    with pytest.raises(VideoError, match=r"cover\.m4a: no video stream \(audio only\)$"):
        probe_video(song)


def test_non_square_pixels_are_stretched_not_squeezed(media: Media, clip: Path) -> None:
    anamorphic = media.get("sar.webm", lambda out: ffmpeg("-t", "1", "-i", clip, "-vf", "scale=72:58,setsar=16/15",
                                                           "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used",
                                                           "8", "-an", "-f", "webm", out))
    probe = probe_video(anamorphic)
    assert (probe.width, probe.height, probe.codec) == (72, 58, "vp9")
    assert probe.sample_aspect_ratio > 1 and (probe.display_width, probe.display_height) == (77, 58)


def test_an_mp4_cut_before_its_index_is_told_apart_from_a_foreign_file(tmp_path: Path) -> None:
    """Both fail to open with the same error code; the file's first box says which one it is."""
    moved = tmp_path / "moov_last.mp4"
    moved.write_bytes(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 200)
    foreign = tmp_path / "random.mp4"
    foreign.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(5000)))
    assert str(probe_many([moved])[0]).endswith("truncated or unfinished MP4 (its index, the moov atom, is missing)")
    assert str(probe_many([foreign])[0]).endswith("not a video or image file (ffmpeg does not recognise its contents)")
