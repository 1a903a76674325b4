"""Finding ffmpeg: system first, else the pip-shipped one; an explicit $SVA_FFMPEG wins."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tools.ffmpeg_binary import FfmpegBinary, FfmpegMissing, find_ffmpeg, parse_version


@pytest.fixture()
def fresh(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SVA_FFMPEG", raising=False)
    find_ffmpeg.cache_clear()
    yield monkeypatch
    find_ffmpeg.cache_clear()


def test_without_system_ffmpeg_the_pip_one_is_used(fresh: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fresh.setenv("PATH", str(tmp_path))  # nothing on PATH
    fresh.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    binary = find_ffmpeg()
    assert binary.source == "imageio-ffmpeg" and binary.ffprobe is None
    assert os.access(binary.ffmpeg, os.X_OK) and binary.version_tuple is not None


def _fake_ffmpeg(folder: Path, first_line: str, with_probe: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = ["ffmpeg", "ffprobe"] if with_probe else ["ffmpeg"]
    for name in names:
        script = folder / name
        script.write_text(f"#!/bin/sh\necho '{first_line}'\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder / "ffmpeg"


def test_system_ffmpeg_wins_and_brings_ffprobe(fresh: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _fake_ffmpeg(tmp_path / "bin", "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021", True)
    fresh.setenv("PATH", str(fake.parent))
    binary = find_ffmpeg()
    assert (binary.source, binary.ffmpeg, binary.ffprobe) == ("system", str(fake), str(fake.parent / "ffprobe"))
    assert binary.version_tuple == (4, 4) and binary.fps_mode_option == "vsync"  # -fps_mode is 5.1+


def test_explicit_choice(fresh: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _fake_ffmpeg(tmp_path / "custom", "ffmpeg version N-113000-gabcdef Copyright", False)
    fresh.setenv("SVA_FFMPEG", str(fake))
    binary = find_ffmpeg()
    assert binary.source == "SVA_FFMPEG" and binary.ffprobe is None
    assert binary.version_tuple is None and binary.fps_mode_option == "fps_mode"  # git build: new


def test_unusable_explicit_choice_is_a_user_error(fresh: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fresh.setenv("SVA_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(FfmpegMissing, match="cannot run ffmpeg"):
        find_ffmpeg()


@pytest.mark.parametrize(
    "line, version, parts",
    [
        ("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright (c) 2000-2026", "n9.0.2-17-g2a571b6068-20260930", (9, 0)),
        ("ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023", "6.1.1-3ubuntu5", (6, 1)),
        ("ffmpeg version 7.1 Copyright", "7.1", (7, 1)),
        ("ffmpeg version N-113000-gabcdef Copyright", "N-113000-gabcdef", None),
    ],
)
def test_parse_version(line: str, version: str, parts) -> None:
    assert parse_version(line) == (version, parts)


def test_describe() -> None:
    binary = FfmpegBinary(ffmpeg="/x/ffmpeg", ffprobe=None, source="imageio-ffmpeg", version="7.1", version_tuple=(7, 1))
    assert binary.describe() == "ffmpeg 7.1 from imageio-ffmpeg: /x/ffmpeg; ffprobe: none (probing parses `ffmpeg -i` output)"
