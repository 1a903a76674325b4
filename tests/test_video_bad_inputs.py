"""Everything a user can throw at ingestion: each gets a correct result (with a warning for what was lost)
or one VideoError whose one-line message names the file; a batch goes on past it."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.video_fixtures import (  # noqa: F401
    audio_only, clip, corrupt_middle, media, one_frame, text_as_mp4, truncated, truncated_index_at_end, zero_bytes,
)
from tools.video_chunks import iter_chunk_frames, plan_chunks
from tools.video_decode import decode_frames
from tools.video_error import VideoError
from tools.video_prober import probe_many, probe_video
from sa2va_engine.user_error import UserError


def _fails(path: Path | str, problem: str) -> VideoError:
    """Both probing and decoding refuse ``path`` with ``<path>: <problem...>`` on one line."""
    for attempt in (probe_video, decode_frames):
        with pytest.raises(VideoError) as caught:
            attempt(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: {problem}"), message
        assert "\n" not in message and "Traceback" not in message
        assert isinstance(caught.value, UserError) and caught.value.exit_code == 2
    return caught.value


def test_missing_path(tmp_path: Path) -> None:
    error = _fails(tmp_path / "nowhere.mp4", "no such file")
    assert error.path == str(tmp_path / "nowhere.mp4") and error.problem == "no such file"


def test_directory(tmp_path: Path) -> None:
    _fails(tmp_path, "is a directory, not a video file")


def test_empty_path() -> None:
    with pytest.raises(VideoError, match="empty path"):
        probe_video("")


def test_zero_byte_file(zero_bytes: Path) -> None:
    _fails(zero_bytes, "empty file (0 bytes)")


def test_text_file_named_mp4(text_as_mp4: Path) -> None:
    _fails(text_as_mp4, "not a video or image file")


@pytest.mark.parametrize("lines", [1, 400])
def test_text_file_named_txt(tmp_path: Path, lines: int) -> None:
    # ffmpeg opens a long enough .txt as an "ansi" video; that must not count as a video.
    notes = tmp_path / "notes.txt"
    notes.write_text("ffmpeg would play this as ANSI art\n" * lines)
    _fails(notes, "not a video or image file")


def test_audio_only(audio_only: Path) -> None:
    _fails(audio_only, "no video stream (audio only)")


def test_truncated_before_index(truncated_index_at_end: Path) -> None:
    _fails(truncated_index_at_end, "truncated or unfinished MP4")


def test_truncated_mp4_decodes_what_is_there(truncated: Path, caplog: pytest.LogCaptureFixture) -> None:
    stream = decode_frames(truncated, max_side=64)
    assert stream.probe.duration_s == pytest.approx(9.58, abs=0.02)  # the index still describes the whole clip
    with caplog.at_level(logging.WARNING, logger="sva.video"):
        times = [f.time_s for f in stream]
    assert 4 <= len(times) < 19 and times == pytest.approx([k * 0.5 for k in range(len(times))])
    assert len(stream.warnings) == 1
    assert stream.warnings[0].startswith(f"decoded {len(times)} frames up to {times[-1]:.1f} s of 9.6 s; the rest could not")
    assert str(truncated) in caplog.text  # the user sees it, naming the file


def test_corrupted_middle_decodes_around_the_damage(corrupt_middle: Path, clip: Path) -> None:
    stream = decode_frames(corrupt_middle, max_side=64)
    frames = list(stream)
    clean = list(decode_frames(clip, max_side=64))
    times = [f.time_s for f in frames]
    assert times[0] == 0.0 and times[-1] == pytest.approx(9.5)  # decoding went on to the end
    assert np.all(np.diff(times) > 0) and len(frames) >= 15
    assert len(stream.warnings) == 1 and "decoding problem(s) near" in stream.warnings[0]
    assert np.array_equal(frames[0].image, clean[0].image)  # before the damage, frames are intact


def test_one_frame_video_probes_and_chunks(one_frame: Path) -> None:
    probe = probe_video(one_frame)
    chunks = plan_chunks(probe)
    assert len(chunks) == 1 and chunks[0].start_s == 0.0
    [decoded] = list(iter_chunk_frames(decode_frames(one_frame, probe=probe), chunks))
    assert decoded.chunk.frame_times == [0.0] and decoded.frames[0].image.shape == (576, 1024, 3)


def test_batch_goes_on(tmp_path: Path, clip: Path, zero_bytes: Path, text_as_mp4: Path, audio_only: Path,
                       truncated: Path) -> None:
    inputs = [tmp_path / "missing.mp4", zero_bytes, clip, text_as_mp4, tmp_path, audio_only, truncated]
    results = probe_many(inputs)
    assert [isinstance(r, VideoError) for r in results] == [True, True, False, True, True, True, False]
    assert all(str(r).startswith(f"{p}: ") for p, r in zip(inputs, results) if isinstance(r, VideoError))


def test_cli_names_each_bad_file_without_traceback(tmp_path: Path, clip: Path, zero_bytes: Path,
                                                  text_as_mp4: Path, truncated: Path) -> None:
    """A real process: what a user at a terminal sees."""
    run = subprocess.run(
        [sys.executable, "-c", "from agent.cli.main import main; main()", "probe", "--decode",
         str(tmp_path / "missing.mp4"), str(zero_bytes), str(clip), str(text_as_mp4), str(truncated)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    errors = run.stderr.strip().splitlines()
    assert errors == [
        f"sva: {tmp_path / 'missing.mp4'}: no such file",
        f"sva: {zero_bytes}: empty file (0 bytes)",
        f"sva: {text_as_mp4}: not a video or image file (ffmpeg does not recognise its contents)",
        errors[3],
    ]
    assert errors[3].startswith(f"sva: {truncated}: warning: decoded ") and "the rest could not be decoded" in errors[3]
    assert [line.split(":")[0] for line in run.stdout.splitlines()] == [str(clip), str(truncated)]
