"""Reading ffmpeg's stderr: exact showinfo times, damage reports with and without level tags."""

from __future__ import annotations

import io

from tools.video_ffmpeg_log import FfmpegLog

TAGGED = """\
[Parsed_showinfo_2 @ 0x7f] [info] config in time_base: 1/30000, frame_rate: 30000/1001
[Parsed_showinfo_2 @ 0x7f] [info] n:   0 pts:      0 pts_time:0       duration:   1001 fmt:rgb24 s:64x36
[Parsed_showinfo_2 @ 0x7f] [info] color_range:pc color_space:gbr
[swscaler @ 0x7e] [warning] deprecated pixel format used, make sure you did set range correctly
[Parsed_showinfo_2 @ 0x7f] [info] n:   1 pts:107983875 pts_time:3599.46 duration:   1001 fmt:rgb24 s:64x36
[h264 @ 0x55] [error] Invalid NAL unit size (4048 > 3427).
[in#0/mov,mp4 @ 0x55] [warning] Packet corrupt (stream = 0, dts = 52736).
[info] frame=    2 fps=0.0 q=-0.0 Lsize=     380KiB time=00:00:04.04
"""


def _read(text: str) -> tuple[FfmpegLog, list[object]]:
    log = FfmpegLog(io.StringIO(text))
    log.run()
    times = []
    while (item := log.times.get_nowait()) is not FfmpegLog.END:
        times.append(item)
    return log, times


def test_times_come_from_pts_and_time_base_not_the_rounded_print() -> None:
    _, times = _read(TAGGED)
    assert times == [0.0, 107983875 / 30000]  # 3599.4625 s; showinfo printed 3599.46


def test_damage_is_kept_noise_is_not() -> None:
    log, _ = _read(TAGGED)
    assert [p.message for p in log.problems] == ["Invalid NAL unit size (4048 > 3427).",
                                                 "Packet corrupt (stream = 0, dts = 52736)."]
    assert log.problems[0].near_s == 107983875 / 30000 and log.problem_count == 2


def test_untagged_lines_of_old_ffmpeg() -> None:
    text = "[Parsed_showinfo_1 @ 0x1] n:   0 pts:   1200 pts_time:0.1     fmt:rgb24\n" \
           "[h264 @ 0x2] error while decoding MB 10 20, bytestream -5\n" \
           "Stream mapping:\n"
    log, times = _read(text)
    assert times == [0.1] and len(log.problems) == 1 and "error while decoding" in log.problems[0].message
