"""Probing: the two readers (ffmpeg banner, ffprobe JSON) on recorded outputs, then real files."""

from __future__ import annotations

import json
import stat

import pytest
from tests.video_fixtures import CLIP, SHARED_VIDEOS, clip, gif, jpeg_image, media, mkv, png_image, rotated, shared, webm_vp9  # noqa: F401

from tools.ffmpeg_binary import find_ffmpeg
from tools.video_error import VideoError
from tools.video_probe_parse import parse_ffmpeg_banner, parse_ffprobe_json, parse_frame_count
from tools.video_prober import probe_many, probe_video

# ffmpeg 9: the video stream sits inside a stream group, the display matrix is spelled "Display Matrix".
BANNER_FFMPEG9 = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/v/dog.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:00:09.66, start: 0.000000, bitrate: 1439 kb/s
  Stream group #0:0[0x3]: Track Reference:
    Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1280x720 [SAR 1:1 DAR 16:9], 1429 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
      Metadata:
        handler_name    : Core Media Video
      Side data:
        Display Matrix: rotation of 90.00 degrees
    Stream #0:2[0x3](eng): Data: none (tmcd / 0x64636D74), 0 kb/s
  Stream #0:1[0x2](eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 2 kb/s (default)
    Metadata:
      handler_name    : Core Media Audio
At least one output file must be specified
"""

# ffmpeg 4.x from a phone: stream lines indented like their Metadata, rotation both as tag and matrix.
BANNER_FFMPEG4_PHONE = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'IMG_0001.MOV':
  Metadata:
    major_brand     : qt
  Duration: 00:00:12.35, start: 0.023000, bitrate: 8000 kb/s
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 7800 kb/s, 29.98 fps, 30 tbr, 600 tbn, 1200 tbc (default)
    Metadata:
      rotate          : 90
      handler_name    : Core Media Video
    Side data:
      displaymatrix: rotation of -90.00 degrees
    Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 96 kb/s (default)
At least one output file must be specified
"""

BANNER_WEBM_ANAMORPHIC = """\
Input #0, matroska,webm, from 'a.webm':
  Duration: 00:00:01.01, start: 0.000000, bitrate: 123 kb/s
  Stream #0:0: Video: vp9 (Profile 0), yuv420p(tv, bt709, progressive), 720x576, SAR 16:15 DAR 4:3, 25 fps, 25 tbr, 1k tbn (default)
"""

BANNER_MP3_WITH_COVER = """\
Input #0, mp3, from 'song.mp3':
  Duration: 00:03:20.05, start: 0.025057, bitrate: 320 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 320 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 500x500 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
"""

BANNER_PNG = """\
Input #0, png_pipe, from 'a.png':
  Duration: N/A, bitrate: N/A
  Stream #0:0: Video: png, rgb24(pc, gbr/bt709/bt709), 1280x720 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 25 tbn
"""

BANNER_TEXT = """\
[in#0 @ 0x55656bf73040] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1, misdetection possible!
[in#0 @ 0x55656bf73040] moov atom not found
[in#0 @ 0x55656bf72cc0] Error opening input: Invalid data found when processing input
Error opening input file text.mp4.
"""


def test_banner_ffmpeg9_stream_group_and_display_matrix() -> None:
    probe = parse_ffmpeg_banner("/v/dog.mp4", BANNER_FFMPEG9)
    assert (probe.width, probe.height, probe.codec, probe.video_stream) == (1280, 720, "h264", 0)
    assert probe.duration_s == pytest.approx(9.66)
    assert probe.avg_fps == pytest.approx(30000 / 1001, abs=1e-9)  # 29.97 read back as the exact NTSC rate
    assert probe.has_audio and not probe.is_image
    # "rotation of 90" is counterclockwise in ffmpeg's print: the picture must turn 270 clockwise.
    assert probe.rotation_deg == 270
    assert (probe.display_width, probe.display_height) == (720, 1280)


def test_banner_ffmpeg4_phone_rotation_and_start_time() -> None:
    probe = parse_ffmpeg_banner("IMG_0001.MOV", BANNER_FFMPEG4_PHONE)
    assert probe.rotation_deg == 90  # tag "rotate: 90" and matrix "-90" agree
    assert (probe.display_width, probe.display_height) == (1080, 1920)
    assert probe.start_s == pytest.approx(0.023)
    assert probe.avg_fps == pytest.approx(29.98) and probe.real_fps == pytest.approx(30)


def test_banner_rotate_tag_alone_is_clockwise() -> None:
    text = BANNER_FFMPEG4_PHONE.replace("    Side data:\n      displaymatrix: rotation of -90.00 degrees\n", "")
    text = text.replace("rotate          : 90", "rotate          : 180")
    assert parse_ffmpeg_banner("x.mov", text).rotation_deg == 180


def test_banner_webm_comma_sar_is_stretched_not_squeezed() -> None:
    probe = parse_ffmpeg_banner("a.webm", BANNER_WEBM_ANAMORPHIC)
    assert probe.codec == "vp9"
    assert probe.sample_aspect_ratio == pytest.approx(16 / 15)
    assert (probe.display_width, probe.display_height) == (768, 576)


def test_banner_cover_art_is_not_a_video() -> None:
    with pytest.raises(VideoError, match=r"^song\.mp3: no video stream \(audio only\)$"):
        parse_ffmpeg_banner("song.mp3", BANNER_MP3_WITH_COVER)


def test_banner_image() -> None:
    probe = parse_ffmpeg_banner("a.png", BANNER_PNG)
    assert probe.is_image and probe.duration_s == 0.0 and probe.frame_count == 1 and probe.avg_fps is None


def test_banner_unrecognised_file() -> None:
    with pytest.raises(VideoError, match=r"^text\.mp4: not a video or image file"):
        parse_ffmpeg_banner("text.mp4", BANNER_TEXT)


def test_frame_count_from_copy_stats() -> None:
    assert parse_frame_count("[info] frame=  120 fps=0.0\n[info] frame=  290 fps=0.0 q=-1.0 Lsize=N/A") == 290
    assert parse_frame_count("nothing") is None


FFPROBE_PHONE = {
    "streams": [
        {
            "index": 0, "codec_name": "hevc", "codec_type": "video", "width": 1920, "height": 1080,
            "sample_aspect_ratio": "1:1", "r_frame_rate": "30/1", "avg_frame_rate": "30000/1001",
            "nb_frames": "371", "disposition": {"default": 1, "attached_pic": 0},
            "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
        },
        {"index": 1, "codec_name": "aac", "codec_type": "audio", "disposition": {"default": 1}},
    ],
    "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "start_time": "0.000000", "duration": "12.376000"},
}


def test_ffprobe_json() -> None:
    probe = parse_ffprobe_json("IMG.MOV", FFPROBE_PHONE)
    assert probe.probed_with == "ffprobe"
    assert (probe.codec, probe.frame_count, probe.rotation_deg) == ("hevc", 371, 90)
    assert probe.avg_fps == pytest.approx(29.97, abs=0.01) and probe.real_fps == 30
    assert probe.duration_s == pytest.approx(12.376) and probe.has_audio


def test_ffprobe_json_audio_only_and_cover_art() -> None:
    data = {"streams": [{"index": 0, "codec_type": "audio"},
                        {"index": 1, "codec_type": "video", "width": 500, "height": 500,
                         "disposition": {"attached_pic": 1}}],
            "format": {"format_name": "mp3"}}
    with pytest.raises(VideoError, match="no video stream"):
        parse_ffprobe_json("song.mp3", data)


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


def test_ffprobe_is_used_when_present(clip, tmp_path) -> None:
    """No real ffprobe here (imageio-ffmpeg ships none): a stand-in that answers like one checks the wiring."""
    stand_in = tmp_path / "ffprobe"
    stand_in.write_text(
        "#!/bin/sh\n"
        f"case \"$*\" in *-show_streams*) cat <<'JSON'\n{json.dumps(FFPROBE_PHONE)}\nJSON\n;; esac\n"
        "case \"$*\" in *broken*) echo 'broken.mp4: Invalid data found when processing input' >&2; exit 1;; esac\n"
    )
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    binary = find_ffmpeg().model_copy(update={"ffprobe": str(stand_in)})
    probe = probe_video(clip, binary=binary)
    assert probe.probed_with == "ffprobe" and probe.codec == "hevc" and probe.path == str(clip)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"x" * 100)
    with pytest.raises(VideoError, match=r"broken\.mp4: not a video or image file"):
        probe_video(broken, binary=binary)
