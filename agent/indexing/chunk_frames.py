"""The decoded frames of some chunks of a video, identical whoever decodes them: the single-process graph
(all pending chunks, one streaming pass) or a Ray worker (its one chunk).

Identity rests on two facts of `tools.video_decode`: sampling slots are fixed to the video's clock, and a
decode that starts on a slot boundary yields exactly the frames a whole-file decode yields from there on.
So the decode starts at the slot boundary at or before the first chunk's start (a scene-cut chunk can start
mid-slot; starting the decode there would keep a later frame of that slot that a full pass skips), and
frames are dealt to chunks by `iter_chunk_frames`, the rule the full pass uses. The end is cut here, not by
the decoder: its own end test has a 0.1 ms tolerance the chunk rule does not, and a last pending chunk
that is not the video's last must not receive the frames after it (`iter_chunk_frames` gives everything
after the end to the last chunk it is given, which is right only for the video's last chunk).

Checked on the shared test videos: every chunk's frame times and pixels equal those of one streaming pass
(`tests/test_ray_index.py::test_worker_windows_decode_the_frames_of_the_single_pass`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from agent.indexing.index_settings import IndexSettings
from tools.video_chunks import Chunk, ChunkFrames, iter_chunk_frames
from tools.video_decode import decode_frames
from tools.video_probe import VideoProbe


def slot_start(time_s: float, sample_fps: float) -> float:
    """Start of the sampling slot holding `time_s` (seconds)."""
    return math.floor(time_s * sample_fps + 1e-9) / sample_fps


def decode_chunks(path: str, probe: VideoProbe, chunks: Sequence[Chunk], last_index: int,
                  settings: IndexSettings) -> Iterator[ChunkFrames]:
    """Frames of `chunks` (planned chunks of one video, ascending; gaps allowed), one `ChunkFrames` per chunk
    in order. `last_index` is the index of the video's last chunk. Raises VideoError (a UserError) when the
    file cannot be decoded."""
    if not chunks:
        return
    fps = settings.sample_fps
    first, last = chunks[0], chunks[-1]
    to_the_end = last.index >= last_index
    end_s = None if to_the_end else last.end_s + 1.0 / fps
    frames = decode_frames(path, sample_fps=fps, max_side=settings.max_side, start_s=slot_start(first.start_s, fps),
                           end_s=end_s, probe=probe)
    if not to_the_end:
        frames = (f for f in frames if f.time_s < last.end_s)
    yield from iter_chunk_frames(frames, chunks)
