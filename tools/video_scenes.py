"""Scene cuts: the times at which the picture changes abruptly, by FFmpeg's scene score.

This decodes the whole video once more (every frame, since a cut can fall between two samples), on
frames shrunk to ``max_side`` px first because the score does not need detail. The score is FFmpeg's own
(its ``select`` filter's ``scene``), run in process through a PyAV filter graph: the frames that come out of
the graph are the cuts, with their timestamps. For chunk planning only.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.filter

from tools.video_error import VideoError
from tools.video_file import check_readable_file, clock_origin, open_container
from tools.video_probe import VideoProbe
from tools.video_prober import probe_video

DEFAULT_SCENE_THRESHOLD = 0.4


def detect_scene_cuts(
    path: str | Path,
    *,
    threshold: float = DEFAULT_SCENE_THRESHOLD,
    max_side: int = 320,
    probe: VideoProbe | None = None,
) -> list[float]:
    """Times (seconds from the start of the video) of the first frame of each new scene, ascending.

    ``threshold`` is FFmpeg's scene score in [0, 1]; 0.4 finds hard cuts and ignores camera motion.
    A damaged file gives the cuts found in what could be decoded; an unusable one raises VideoError."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    file = check_readable_file(path)
    probe = probe or probe_video(path)
    if probe.is_image:
        return []
    scale = min(1.0, max_side / max(probe.width, probe.height))
    width, height = max(2, round(probe.width * scale / 2) * 2), max(2, round(probe.height * scale / 2) * 2)
    cuts: list[float] = []
    decoded = 0
    first_error: str | None = None
    with open_container(file, str(path)) as container:
        stream = container.streams[probe.video_stream]
        stream.thread_type = "AUTO"
        origin = clock_origin(container, stream)
        graph = av.filter.Graph()
        source = graph.add_buffer(template=stream)
        shrink = graph.add("scale", f"{width}:{height}:flags=fast_bilinear")
        select = graph.add("select", f"gt(scene\\,{threshold:.4f})")
        sink = graph.add("buffersink")
        source.link_to(shrink)
        shrink.link_to(select)
        select.link_to(sink)
        graph.configure()

        def drain() -> None:
            while True:
                try:
                    cut = sink.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    return
                if cut.pts is not None:
                    cuts.append(float(cut.pts * cut.time_base - origin))

        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:
                first_error = first_error or (exc.strerror or str(exc))
                break
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                first_error = first_error or (exc.strerror or str(exc))
                continue
            for frame in frames:
                decoded += 1
                source.push(frame)
                drain()
        source.push(None)  # end of stream: the graph hands out what it still holds
        drain()
    if decoded == 0:
        raise VideoError(str(path), f"scene detection failed (no frame could be decoded: {first_error or 'no picture'})")
    return sorted(cuts)
