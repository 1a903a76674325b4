"""Test media for the video tools, made with ffmpeg from the shared clips at test time (no media in git).

Import the fixtures you use into a test module (``from tests.video_fixtures import clip, media``). Every file is
built once per session into one folder, even when several modules import the same fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "videos"
CLIP = "06_pingpong.mp4"  # 1280x720, 24 fps, 9.58 s, stereo AAC, index (moov) at the front
SECOND_CLIP = "11_polevault.mp4"  # 1280x720, 25 fps, 10 s, no audio


def shared(name: str) -> Path:
    path = SHARED_VIDEOS / name
    if not path.is_file():
        pytest.fail(f"shared clip {path} not found (CI clones the repo with shared/ beside it)")
    return path


def ffmpeg_exe() -> str:
    """The ffmpeg command that builds test media: the pip-shipped one (imageio-ffmpeg, a test dependency), so
    media is built the same way everywhere (a system ffmpeg may be too old for ``-display_rotation``), else
    ``ffmpeg`` on PATH. The code under test runs no ffmpeg command: it reads and writes video with PyAV."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found is None:
            pytest.fail("no ffmpeg to build test media: pip install imageio-ffmpeg (install.sh does)")
        return found


def ffmpeg(*args: str | Path) -> None:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building test media failed: {' '.join(cmd)}\n{done.stderr}")


class Media:
    """Builds each named file at most once per session, in one folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get(self, name: str, build: Callable[[Path], None]) -> Path:
        path = self.folder / name
        if not path.exists():
            partial = self.folder / f".partial-{os.getpid()}-{name}"
            build(partial)
            partial.rename(path)
        return path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    folder = tmp_path_factory.getbasetemp() / "video_media"
    folder.mkdir(exist_ok=True)
    return Media(folder)


@pytest.fixture(scope="session")
def clip() -> Path:
    return shared(CLIP)


@pytest.fixture(scope="session")
def second_clip() -> Path:
    return shared(SECOND_CLIP)


def _copy(source: Path) -> Callable[[Path], None]:
    return lambda out: shutil.copyfile(source, out)


# ---------------------------------------------------------------- good inputs of every kind


@pytest.fixture(scope="session")
def rotated(media: Media, clip: Path) -> Path:
    """2 s of the clip, stream-copied, with a display matrix saying: turn 90 degrees counterclockwise."""
    return media.get("rotated.mp4", lambda out: ffmpeg("-display_rotation:v:0", "90", "-i", clip, "-t", "2",
                                                         "-c", "copy", "-f", "mp4", out))


@pytest.fixture(scope="session")
def odd_size(media: Media, clip: Path) -> Path:
    return media.get("odd.mp4", lambda out: ffmpeg("-t", "1", "-i", clip, "-vf", "scale=321:241", "-an", "-c:v", "libx264",
                                                     "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-f", "mp4", out))


@pytest.fixture(scope="session")
def one_frame(media: Media, clip: Path) -> Path:
    return media.get("one_frame.mp4", lambda out: ffmpeg("-i", clip, "-frames:v", "1", "-an", "-c:v", "libx264",
                                                           "-preset", "ultrafast", "-f", "mp4", out))


@pytest.fixture(scope="session")
def video_8k(media: Media) -> Path:
    """2 s of a synthetic 7680x4320 picture at 2 fps."""
    return media.get("8k.mp4", lambda out: ffmpeg("-f", "lavfi", "-i", "testsrc2=size=7680x4320:rate=2:duration=2",
                                                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                                    "-f", "mp4", out))


@pytest.fixture(scope="session")
def vfr_with_gap(media: Media, clip: Path) -> Path:
    """The clip at 24 fps for [0, 2) s, nothing in [2, 5] s, then every third frame (8 fps): true VFR."""
    keep = "select='lt(t\\,2)+gt(t\\,5)*not(mod(n\\,3))'"
    return media.get("vfr_gap.mp4", lambda out: ffmpeg("-i", clip, "-vf", keep, "-fps_mode", "vfr", "-an", "-c:v",
                                                         "libx264", "-preset", "ultrafast", "-f", "mp4", out))


@pytest.fixture(scope="session")
def odd_name(media: Media, clip: Path) -> Path:
    return media.get("my clip – été 漢字 🎬.mp4", _copy(clip))


@pytest.fixture(scope="session")
def jpeg_image(media: Media, clip: Path) -> Path:
    return media.get("still.jpg", lambda out: ffmpeg("-i", clip, "-frames:v", "1", "-f", "image2", out))


@pytest.fixture(scope="session")
def png_image(media: Media, clip: Path) -> Path:
    return media.get("still.png", lambda out: ffmpeg("-i", clip, "-frames:v", "1", "-vf", "scale=641:361",
                                                       "-f", "image2", "-c:v", "png", out))


@pytest.fixture(scope="session")
def gif(media: Media, clip: Path) -> Path:
    return media.get("anim.gif", lambda out: ffmpeg("-t", "2", "-i", clip, "-vf", "fps=10,scale=160:-1", "-f", "gif", out))


@pytest.fixture(scope="session")
def webm_vp9(media: Media, clip: Path) -> Path:
    return media.get("vp9.webm", lambda out: ffmpeg("-t", "2", "-i", clip, "-vf", "scale=160:90", "-c:v", "libvpx-vp9",
                                                      "-deadline", "realtime", "-cpu-used", "8", "-an", "-f", "webm", out))


@pytest.fixture(scope="session")
def mkv(media: Media, clip: Path) -> Path:
    return media.get("h264.mkv", lambda out: ffmpeg("-t", "2", "-i", clip, "-vf", "scale=160:90", "-c:v", "libx264",
                                                      "-preset", "ultrafast", "-c:a", "copy", "-f", "matroska", out))


@pytest.fixture(scope="session")
def two_scenes(media: Media, clip: Path, second_clip: Path) -> Path:
    """The clip (9.583 s at 24 fps) then the second clip, both at 320x180 and 24 fps: one hard cut at 9.583 s."""
    graph = ("[0:v]scale=320:180,setsar=1,fps=24[a];[1:v]scale=320:180,setsar=1,fps=24[b];"
             "[a][b]concat=n=2:v=1:a=0[v]")
    return media.get("two_scenes.mp4", lambda out: ffmpeg("-i", clip, "-i", second_clip, "-filter_complex", graph,
                                                             "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
                                                             "-f", "mp4", out))


def small_loop(media: Media, clip: Path, minutes: int) -> Path:
    """The clip at 160x90 and 8 fps, looped by stream copy to ``minutes`` (cheap to build and to decode)."""
    small = media.get("small_8fps.mp4", lambda out: ffmpeg("-i", clip, "-vf", "scale=160:90,fps=8", "-an", "-c:v", "libx264",
                                                             "-preset", "ultrafast", "-g", "16", "-f", "mp4", out))
    return media.get(f"loop_{minutes}min.mp4", lambda out: ffmpeg("-stream_loop", "-1", "-i", small, "-t",
                                                                  str(minutes * 60), "-c", "copy", "-f", "mp4", out))


@pytest.fixture(scope="session")
def sixty_minutes(media: Media, clip: Path) -> Path:
    return small_loop(media, clip, 60)


@pytest.fixture(scope="session")
def one_minute(media: Media, clip: Path) -> Path:
    return small_loop(media, clip, 1)


# ---------------------------------------------------------------- bad inputs


@pytest.fixture(scope="session")
def zero_bytes(media: Media) -> Path:
    return media.get("empty.mp4", lambda out: out.write_bytes(b""))


@pytest.fixture(scope="session")
def text_as_mp4(media: Media) -> Path:
    return media.get("notes.mp4", lambda out: out.write_text("these are my notes, not a video\n" * 20))


@pytest.fixture(scope="session")
def truncated(media: Media, clip: Path) -> Path:
    """The first 45% of the clip; its index is at the front, so the first ~4 s can be decoded."""
    def build(out: Path) -> None:
        data = clip.read_bytes()
        out.write_bytes(data[: len(data) * 45 // 100])
    return media.get("truncated.mp4", build)


@pytest.fixture(scope="session")
def truncated_index_at_end(media: Media, clip: Path) -> Path:
    """An MP4 written with its index last and cut before it: nothing tells where any frame is."""
    def build(out: Path) -> None:
        whole = out.with_name(out.name + ".whole.mp4")
        ffmpeg("-i", clip, "-t", "3", "-c", "copy", "-f", "mp4", whole)
        data = whole.read_bytes()
        out.write_bytes(data[: len(data) * 6 // 10])
        whole.unlink()
    return media.get("truncated_index_at_end.mp4", build)


@pytest.fixture(scope="session")
def corrupt_middle(media: Media, clip: Path) -> Path:
    """The clip with 64 KiB of noise written over the middle of its picture data."""
    def build(out: Path) -> None:
        data = bytearray(clip.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 65536] = bytes((i * 7919 + 13) % 256 for i in range(65536))
        out.write_bytes(bytes(data))
    return media.get("corrupt_middle.mp4", build)


@pytest.fixture(scope="session")
def audio_only(media: Media, clip: Path) -> Path:
    return media.get("audio_only.m4a", lambda out: ffmpeg("-i", clip, "-vn", "-c:a", "copy", "-f", "mp4", out))


@pytest.fixture(scope="session")
def mpegts(media: Media, clip: Path) -> Path:
    """4 s of the clip in MPEG-TS: no index to seek with, and a clock that does not start at 0."""
    return media.get("clip.ts", lambda out: ffmpeg("-i", clip, "-t", "4", "-c", "copy", "-f", "mpegts", out))
