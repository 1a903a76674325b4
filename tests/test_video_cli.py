"""`sva doctor` and `sva probe`: exit codes, one line per bad file, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli.main import app
from tests.video_fixtures import clip, media, rotated, text_as_mp4  # noqa: F401

runner = CliRunner()


def test_doctor_reports_the_ffmpeg_in_use(tmp_path: Path) -> None:
    import av

    result = runner.invoke(app, ["doctor", "--model", "demo", "--db", str(tmp_path / "i.duckdb")])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if line.split()[1] == "ffmpeg"]
    assert line.startswith("ok ") and f"FFmpeg {av.ffmpeg_version_info} in PyAV {av.__version__}" in line
    assert "libx264" in line
    assert {line.split()[1] for line in result.stdout.splitlines()} >= {"python", "ffmpeg", "torch", "model", "index"}


def test_probe_all_good(clip: Path, rotated: Path) -> None:
    result = runner.invoke(app, ["probe", str(clip), str(rotated)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{clip}: 9.58 s, 1280x720, h264, 24 fps, 230 frames, audio"  # the count the container states
    assert lines[1].startswith(f"{rotated}: ") and "720x1280 (stored 1280x720, rotated 270 deg)" in lines[1]


def test_probe_json_and_partial_failure(clip: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["probe", "--json", "--count-frames", str(clip), str(tmp_path / "gone.mp4")])
    assert result.exit_code == 1
    [facts] = json.loads(result.stdout)
    assert facts["frame_count"] == 230 and facts["display_width"] == 1280 and facts["path"] == str(clip)
    assert result.stderr == f"sva: {tmp_path / 'gone.mp4'}: no such file\n"


def test_probe_all_bad_is_exit_2(text_as_mp4: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["probe", str(text_as_mp4), str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"sva: {text_as_mp4}: not a video or image file (ffmpeg does not recognise its contents)",
        f"sva: {tmp_path}: is a directory, not a video file",
    ]


def test_probe_without_paths_is_usage_error() -> None:
    assert runner.invoke(app, ["probe"]).exit_code == 2


def test_probe_decode_reports_sampled_frames(clip: Path) -> None:
    result = runner.invoke(app, ["probe", "--decode", "--sample-fps", "1", str(clip)])
    assert result.exit_code == 0 and result.stdout.strip().endswith("decoded 10 frames at 1 fps")
