"""Streaming decode: a video's frames sampled at a target rate, scaled down, upright, each with its true
presentation time in seconds. FFmpeg's libraries decode in this process (PyAV): a thread decodes and picks
the frames to keep, handing at most a few ahead to the caller's thread, which scales and converts them, so
memory does not grow with the video's length.

Sampling: time is cut into slots of ``1 / sample_fps`` seconds counted from the start of the video, and
the first frame that falls in a slot is kept. Its timestamp is reported as it is in the file: nothing is
snapped to the grid, and a slot that holds no frame (a gap in a variable-frame-rate recording) yields
nothing, so a gap in the file stays a gap in the output instead of being filled with repeated frames at
made-up times. Because the slots are fixed to the video's clock, decoding a window that starts on a slot
boundary gives exactly the frames that a full decode gives in that window.

Clock: 0 s is where the video stream starts (``video_file.clock_origin``), the first frame for the usual
files (an MPEG-TS whose container says it starts at 1.4 s still starts at 0 here). Times are each frame's
pts times its stream's time base, exact, also after a seek: a window decode starts at the keyframe before
the window and reads true timestamps from there.

Only kept frames are scaled and converted to RGB (swscale, area averaging); the others are decoded (the
codec needs them) and dropped at once.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.reformatter import Interpolation
from av.video.stream import VideoStream

from tools.video_error import VideoError
from tools.video_file import check_readable_file, clock_origin, open_container
from tools.video_probe import VideoProbe
from tools.video_prober import probe_video

log = logging.getLogger("sva.video")

DEFAULT_SAMPLE_FPS = 2.0
DEFAULT_MAX_SIDE = 1024
# Slack when deciding which slot a timestamp is in: timestamps are rounded to the stream's time base.
_SLOT_EPSILON_S = 1e-4
# Containers whose index lets a seek land on a keyframe before any time; others are decoded from the start.
_INDEXED_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"}
_KEEP_PROBLEMS = 8
# Kept frames the decoding thread may hold ready (full-size pictures) while this one converts.
_FRAMES_AHEAD = 4
# Clockwise turn -> np.rot90's k (which turns counterclockwise).
_ROT90_K = {0: 0, 90: -1, 180: 2, 270: 1}


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


@dataclass(frozen=True)
class Problem:
    """One damage report from the decoder; ``near_s`` is the time of the last frame decoded before it (seconds)."""

    message: str
    near_s: float | None


class _SeekMissed(Exception):
    """A seek landed after the window's start, or where no picture decodes: decode from the start instead."""


class FrameStream:
    """The sampled frames of one video; iterate it to decode (each iteration opens the file afresh).

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
    ):
        if sample_fps <= 0:
            raise ValueError(f"sample_fps must be > 0, got {sample_fps}")
        if max_side < 1:
            raise ValueError(f"max_side must be >= 1 px, got {max_side}")
        if start_s < 0 or (end_s is not None and end_s <= start_s):
            raise ValueError(f"bad window: start_s={start_s}, end_s={end_s}")
        self.path = str(path)
        self.file = check_readable_file(path)
        self.probe = probe or probe_video(path)
        self.sample_fps = float(sample_fps)
        self.start_s = 0.0 if self.probe.is_image else float(start_s)
        self.end_s = None if self.probe.is_image else end_s
        self.width, self.height = output_size(self.probe, max_side)
        self.warnings: list[str] = []
        self.frames_decoded = 0
        self.last_time_s: float | None = None

    def _seek_default(self) -> bool:
        return self.start_s > 0 and self.probe.container in _INDEXED_CONTAINERS

    def __iter__(self) -> Iterator[DecodedFrame]:
        self.warnings = []
        self.frames_decoded = 0
        self.last_time_s = None
        if self._seek_default():
            try:
                yield from self._run(seek=True)
                return
            except (_SeekMissed, VideoError):
                if self.frames_decoded:
                    raise
                # The seek landed after the window's start, or where nothing decodes: decode from the
                # beginning instead; slow, but the window's frames are there.
                log.info("%s: seeking to %.1f s missed the window; decoding from the start", self.path, self.start_s)
                self.warnings = []
        yield from self._run(seek=False)

    def _run(self, seek: bool) -> Iterator[DecodedFrame]:
        """One pass: a thread decodes and picks the frames to keep, this generator scales and yields them, so
        the conversion of one kept frame overlaps the decoding of the next ones."""
        problems: list[Problem] = []
        count = [0]  # every problem, also those not kept
        container = open_container(self.file, self.path)
        handoff: queue.Queue = queue.Queue(maxsize=_FRAMES_AHEAD)
        stop = threading.Event()
        worker = threading.Thread(target=self._produce, args=(container, seek, problems, count, handoff, stop),
                                  name="sva-video-decode", daemon=True)
        worker.start()
        try:
            stored_w, stored_h = (self.height, self.width) if self.probe.rotation_deg in (90, 270) else (self.width, self.height)
            turn = _ROT90_K.get(self.probe.rotation_deg, 0)
            while True:
                kind, time_s, item = handoff.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise item
                image = item.reformat(stored_w, stored_h, "rgb24", interpolation=Interpolation.AREA).to_ndarray()
                if turn:
                    image = np.ascontiguousarray(np.rot90(image, k=turn))
                decoded = DecodedFrame(time_s=time_s, index=self.frames_decoded, image=image)
                self.frames_decoded += 1
                self.last_time_s = time_s
                yield decoded
        finally:
            stop.set()  # also when the caller stopped early: the thread ends at its next hand-off
            while worker.is_alive():
                try:
                    handoff.get(timeout=0.1)
                except queue.Empty:
                    pass
            worker.join()
            container.close()
        self._judge(problems, count[0])

    def _produce(self, container: InputContainer, seek: bool, problems: list[Problem], count: list[int],
                 handoff: queue.Queue, stop: threading.Event) -> None:
        """The decoding thread: hands ("frame", time, av frame) for each kept frame, then ("end", ...), or
        ("error", None, exception); gives up as soon as ``stop`` is set."""

        def hand(entry: tuple) -> bool:
            while not stop.is_set():
                try:
                    handoff.put(entry, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for time_s, frame in self._kept(container, seek, problems, count):
                if not hand(("frame", time_s, frame)):
                    return
            hand(("end", None, None))
        except BaseException as exc:  # handed to the caller, raised where it asks for the next frame
            hand(("error", None, exc))

    def _kept(self, container: InputContainer, seek: bool, problems: list[Problem],
              count: list[int]) -> Iterator[tuple[float, av.VideoFrame]]:
        """The frames to keep, with their times (seconds): in the window, the first of each sampling slot."""
        stream = container.streams[self.probe.video_stream]
        stream.thread_type = "AUTO"  # frame and slice threads, as the ffmpeg command line does by default
        origin = clock_origin(container, stream)
        rate = self.sample_fps
        start = self.start_s - _SLOT_EPSILON_S
        end = None if self.end_s is None else self.end_s - _SLOT_EPSILON_S
        if seek:
            try:
                container.seek(int((origin + Fraction(self.start_s)) / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                raise _SeekMissed() from None
        last_slot: int | None = None
        last_time: float | None = None
        first = True
        for time_s, frame in self._decoded(container, stream, origin, problems, count):
            if first and seek and time_s is not None and time_s > start + 2 * _SLOT_EPSILON_S:
                raise _SeekMissed()
            first = False
            if time_s is None:
                # No timestamp: put it one slot after the last, and say so once.
                if not any("without a timestamp" in w for w in self.warnings):
                    self._warn("some frames came without a timestamp; their times are estimated")
                time_s = (last_time + 1.0 / rate) if last_time is not None else self.start_s
            if time_s < start:
                continue
            if end is not None and time_s >= end:
                break
            slot = math.floor((time_s + _SLOT_EPSILON_S) * rate)
            if last_slot is not None and slot <= last_slot:
                continue
            last_slot, last_time = slot, time_s
            yield time_s, frame
        if seek and first:
            raise _SeekMissed()  # not one picture after the seek: it landed where nothing decodes

    def _decoded(self, container: InputContainer, stream: VideoStream, origin: Fraction, problems: list[Problem],
                 count: list[int]) -> Iterator[tuple[float | None, av.VideoFrame]]:
        """Every decoded frame with its time (seconds on the video's clock; None without a pts). Damage is
        recorded in ``problems`` (structured: error kinds and the packet/frame corrupt flags) and skipped."""
        near: list[float | None] = [None]

        def problem(message: str) -> None:
            count[0] += 1
            if len(problems) < _KEEP_PROBLEMS:
                problems.append(Problem(message, near[0]))

        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:
                problem(f"reading stopped: {exc.strerror or exc}")
                break
            if packet.is_corrupt:
                problem("a packet is damaged or cut short")
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                problem(f"the decoder rejected a packet: {exc.strerror or exc}")
                continue
            for frame in frames:
                if frame.is_corrupt:
                    problem("a picture was decoded with errors")
                time_s = None if frame.pts is None else float(frame.pts * frame.time_base - origin)
                if time_s is not None:
                    near[0] = time_s
                yield time_s, frame

    def _judge(self, problems: list[Problem], count: int) -> None:
        """Turn what went wrong into warnings, or into an error when nothing at all came out."""
        first = problems[0].message if problems else None
        if self.frames_decoded == 0:
            windowed = self.start_s > 0 or self.end_s is not None
            if first is None and windowed:
                return  # an empty window (a gap in the recording, or past the end) is a fine answer
            raise VideoError(self.path, f"no frame could be decoded ({first or 'the video stream holds no picture'})")
        end = self.end_s if self.end_s is not None else self.probe.duration_s
        last = self.last_time_s if self.last_time_s is not None else 0.0
        short = end is not None and last + 1.0 / self.sample_fps + 0.5 < end
        if first is not None and short:
            self._warn(
                f"decoded {self.frames_decoded} frames up to {last:.1f} s of {end:.1f} s; "
                f"the rest could not be decoded ({first})"
            )
        elif first is not None:
            near = problems[0].near_s
            where = f" near {near:.1f} s" if near is not None else ""
            self._warn(f"{count} decoding problem(s){where} (first: {first}); frames there may be damaged or missing")

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s: %s", self.path, message)


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
