"""Streaming decode: a video's frames sampled at a target rate, scaled down, upright, each with its true
presentation time in seconds. One ffmpeg process writes raw RGB into a pipe and Python holds one frame
at a time, so memory does not grow with the video's length.

Sampling: time is cut into slots of ``1 / sample_fps`` seconds counted from the start of the video, and
the first frame that falls in a slot is kept. Its timestamp is reported as it is in the file: nothing is
snapped to the grid, and a slot that holds no frame (a gap in a variable-frame-rate recording) yields
nothing, so a gap in the file stays a gap in the output instead of being filled with repeated frames at
made-up times. Because the slots are fixed to the video's clock, decoding a window that starts on a slot
boundary gives exactly the frames that a full decode gives in that window.

Clock: 0 s is where ffmpeg starts the file's clock, the first frame for the usual files (an MPEG-TS
whose container says it starts at 1.4 s still starts at 0 here). Times come from each frame's pts and
its stream's time base, exact for a whole-file decode; after a seek they can be off by one tick of the
time base (under 0.1 ms for common files).
"""

from __future__ import annotations

import io
import logging
import queue
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from tools.ffmpeg_binary import FfmpegBinary, find_ffmpeg
from tools.video_error import VideoError
from tools.video_ffmpeg_log import FfmpegLog
from tools.video_probe import VideoProbe
from tools.video_prober import check_readable_file, probe_video

log = logging.getLogger("sva.video")

DEFAULT_SAMPLE_FPS = 2.0
DEFAULT_MAX_SIDE = 1024
# Slack when deciding which slot a timestamp is in: timestamps are rounded to the stream's time base.
_SLOT_EPSILON_S = 1e-4
# Containers whose index lets ffmpeg land on a keyframe before any time; others are decoded from the start.
_INDEXED_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"}
# How long to wait for a frame's showinfo line after its pixels arrived (normally microseconds).
_TIME_WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """One sampled frame. A dataclass, not pydantic: it carries a large array and is made per frame.

    ``time_s``: presentation time, seconds from the start of the video. ``index``: position of this frame
    in the sampled sequence (0, 1, 2...), not in the file. ``image``: H x W x 3 uint8 RGB, upright."""

    time_s: float
    index: int
    image: np.ndarray


def output_size(probe: VideoProbe, max_side: int) -> tuple[int, int]:
    """(width, height) in pixels of the frames delivered: upright, long side at most ``max_side``, never enlarged."""
    width, height = probe.display_width, probe.display_height
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _rotation_filters(rotation_deg: int) -> list[tuple[str, tuple[str, ...]]]:
    return {
        90: [("transpose", ("clock",))],
        180: [("hflip", ()), ("vflip", ())],
        270: [("transpose", ("cclock",))],
    }.get(rotation_deg, [])


class FrameStream:
    """The sampled frames of one video; iterate it to decode (each iteration runs ffmpeg afresh).

    Construction probes the file, so a file that cannot be used raises VideoError here, before any
    decoding. While iterating, damage is not fatal: whatever can be decoded is yielded and ``warnings``
    says what was lost (also logged on ``sva.video``). Only a file of which not one frame can be decoded
    raises VideoError from the iteration.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        sample_fps: float = DEFAULT_SAMPLE_FPS,
        max_side: int = DEFAULT_MAX_SIDE,
        start_s: float = 0.0,
        end_s: float | None = None,
        probe: VideoProbe | None = None,
        binary: FfmpegBinary | None = None,
    ):
        if sample_fps <= 0:
            raise ValueError(f"sample_fps must be > 0, got {sample_fps}")
        if max_side < 1:
            raise ValueError(f"max_side must be >= 1 px, got {max_side}")
        if start_s < 0 or (end_s is not None and end_s <= start_s):
            raise ValueError(f"bad window: start_s={start_s}, end_s={end_s}")
        self.path = str(path)
        self.file = check_readable_file(path)
        self.binary = binary or find_ffmpeg()
        self.probe = probe or probe_video(path, binary=self.binary)
        self.sample_fps = float(sample_fps)
        self.start_s = 0.0 if self.probe.is_image else float(start_s)
        self.end_s = None if self.probe.is_image else end_s
        self.width, self.height = output_size(self.probe, max_side)
        self.warnings: list[str] = []
        self.frames_decoded = 0
        self.last_time_s: float | None = None

    def command(self, input_seek: bool | None = None) -> list[str]:
        """The ffmpeg command line (built with ffmpeg-python) that writes the frames to stdout.

        ``input_seek``: jump to ``start_s`` through the container's index (fast) rather than decode
        from the beginning and drop what comes before (slow, but right where there is no index)."""
        input_seek = self._input_seek_default() if input_seek is None else input_seek
        input_options: dict[str, object] = {"noautorotate": None}  # rotation is applied below, on small frames
        offset = self.start_s if input_seek else 0.0
        if input_seek:
            input_options["ss"] = f"{self.start_s:.6f}"
        if self.end_s is not None:
            # A little past the end: the select below makes the exact cut, the same way in both modes.
            input_options["t"] = f"{self.end_s - offset + 0.25:.6f}"
        rate = self.sample_fps
        # t is seconds since `offset`; the slot number is counted on the video's own clock.
        slot = f"floor(({{t}}+{offset:.6f}+{_SLOT_EPSILON_S})*{rate:.9g})"
        keep = f"isnan(prev_selected_t)+gt({slot.format(t='t')},{slot.format(t='prev_selected_t')})"
        if self.start_s > offset:
            keep = f"gte(t+{offset + _SLOT_EPSILON_S:.6f},{self.start_s:.6f})*({keep})"
        if self.end_s is not None:
            keep = f"lt(t+{offset + _SLOT_EPSILON_S:.6f},{self.end_s:.6f})*({keep})"
        upright_w, upright_h = self.width, self.height
        stored_w, stored_h = (upright_h, upright_w) if self.probe.rotation_deg in (90, 270) else (upright_w, upright_h)
        # select before scale: only kept frames pay for scaling, rotating and the pipe.
        stream = ffmpeg.input(str(self.file), **input_options)[str(self.probe.video_stream)]
        stream = stream.filter("select", keep).filter("scale", stored_w, stored_h, flags="area")
        for name, args in _rotation_filters(self.probe.rotation_deg):
            stream = stream.filter(name, *args)
        stream = stream.filter("showinfo")
        out = stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", **{self.binary.fps_mode_option: "passthrough"})
        return [self.binary.ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", self.binary.loglevel, *out.get_args()]

    def _input_seek_default(self) -> bool:
        return self.start_s > 0 and self.probe.container in _INDEXED_CONTAINERS

    def __iter__(self) -> Iterator[DecodedFrame]:
        self.warnings = []
        self.frames_decoded = 0
        self.last_time_s = None
        input_seek = self._input_seek_default()
        try:
            yield from self._run(input_seek)
        except VideoError:
            if not input_seek:
                raise
            # A seek that lands where nothing decodes (no keyframe before the window's end): decode
            # from the beginning instead; slow, but the window's frames are there.
            log.info("%s: seeking to %.1f s gave no frame; decoding from the start", self.path, self.start_s)
            self.warnings = []
            yield from self._run(False)

    def _run(self, input_seek: bool) -> Iterator[DecodedFrame]:
        frame_bytes = self.width * self.height * 3
        offset = self.start_s if input_seek else 0.0
        proc = subprocess.Popen(
            self.command(input_seek),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=False,
        )
        assert proc.stdout is not None and proc.stderr is not None
        stderr_text = io.TextIOWrapper(proc.stderr, encoding="utf-8", errors="replace")
        ffmpeg_log = FfmpegLog(stderr_text)
        ffmpeg_log.start()
        interval = 1.0 / self.sample_fps
        finished = False
        try:
            while True:
                buffer = bytearray(frame_bytes)
                got = _read_exactly(proc.stdout, buffer)
                if got == 0:
                    break
                if got < frame_bytes:
                    self._warn(f"last frame cut short ({got} of {frame_bytes} bytes); dropped")
                    break
                time_s = self._next_time(ffmpeg_log, interval, offset)
                image = np.frombuffer(buffer, dtype=np.uint8).reshape(self.height, self.width, 3)
                frame = DecodedFrame(time_s=time_s, index=self.frames_decoded, image=image)
                self.frames_decoded += 1
                self.last_time_s = time_s
                yield frame
            proc.wait()
            ffmpeg_log.join()
            finished = True
        finally:
            if proc.poll() is None:  # the caller stopped early: ffmpeg is not needed any more
                proc.kill()
                proc.wait()
            proc.stdout.close()
            if not finished:
                ffmpeg_log.join(timeout=5)
        self._judge(proc.returncode, ffmpeg_log)

    def _next_time(self, ffmpeg_log: FfmpegLog, interval: float, offset: float) -> float:
        try:
            item = ffmpeg_log.times.get(timeout=_TIME_WAIT_S)
        except queue.Empty:
            item = None
        if item is FfmpegLog.END:
            ffmpeg_log.times.put(FfmpegLog.END)
            item = None
        if item is None:
            # No timestamp for this frame: put it one slot after the last, and say so once.
            if not any("without a timestamp" in w for w in self.warnings):
                self._warn("some frames came without a timestamp; their times are estimated")
            return (self.last_time_s + interval) if self.last_time_s is not None else self.start_s
        return offset + float(item)  # type: ignore[arg-type]

    def _judge(self, returncode: int, ffmpeg_log: FfmpegLog) -> None:
        """Turn what ffmpeg reported into warnings, or into an error when nothing at all came out."""
        first = ffmpeg_log.problems[0].message if ffmpeg_log.problems else None
        if self.frames_decoded == 0:
            windowed = self.start_s > 0 or self.end_s is not None
            if returncode == 0 and first is None and windowed:
                return  # an empty window (a gap in the recording, or past the end) is a fine answer
            reason = first or (ffmpeg_log.last_lines[-1] if ffmpeg_log.last_lines else f"ffmpeg exit code {returncode}")
            raise VideoError(self.path, f"no frame could be decoded ({reason})")
        end = self.end_s if self.end_s is not None else self.probe.duration_s
        last = self.last_time_s if self.last_time_s is not None else 0.0
        short = end is not None and last + 1.0 / self.sample_fps + 0.5 < end
        if (first is not None or returncode != 0) and short:
            self._warn(
                f"decoded {self.frames_decoded} frames up to {last:.1f} s of {end:.1f} s; "
                f"the rest could not be decoded ({first or f'ffmpeg exit code {returncode}'})"
            )
        elif first is not None:
            near = ffmpeg_log.problems[0].near_s
            where = f" near {near:.1f} s" if near is not None else ""
            self._warn(
                f"{ffmpeg_log.problem_count} decoding problem(s){where} (first: {first}); "
                "frames there may be damaged or missing"
            )
        elif returncode != 0:
            self._warn(f"ffmpeg ended with exit code {returncode} after {last:.1f} s")

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s: %s", self.path, message)


def _read_exactly(pipe, buffer: bytearray) -> int:
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        n = pipe.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def decode_frames(
    path: str | Path,
    *,
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    max_side: int = DEFAULT_MAX_SIDE,
    start_s: float = 0.0,
    end_s: float | None = None,
    probe: VideoProbe | None = None,
) -> FrameStream:
    """Frames of ``path`` sampled at ``sample_fps`` (frames per second), long side at most ``max_side`` px,
    from ``start_s`` to ``end_s`` (seconds; the window is half-open). Raises VideoError for unusable files."""
    return FrameStream(path, sample_fps=sample_fps, max_side=max_side, start_s=start_s, end_s=end_s, probe=probe)
