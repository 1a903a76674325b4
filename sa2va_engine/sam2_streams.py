"""SAM-2 over the frames of one or several clips in order, the image encoder running over batches of frames.

Each clip is a `FrameStream`: its frames, its tracker (its K objects and their memory), its `[SEG]` prompts and
key frames. The streams' frames are taken in order, clip after clip, in groups of ``frame_batch`` frames to
encode, and a group may hold the end of one clip and the start of the next: with several chunks in flight, the
encoder's batches stay full across chunk boundaries. Then each frame is segmented by its own tracker, in frame
order: from memory one frame after another (each reads the frames before it), or, for clips prompted on every
frame (which read nothing but themselves), all such frames of the group in one pass of SAM-2's heads.

``frame_batch=1`` is the one-frame-at-a-time loop exactly; larger batches give the same results up to float
rounding (tests/test_sam2_batches.py). Memory grows with ``frame_batch`` (one group's encoder outputs), never
with the number of frames: a stream is read lazily and a clip is only set up (its prompts computed) when its
first frame is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import torch

from sa2va_engine.sam2_model import LanguageSAM2
from sa2va_engine.sam2_tracker import FrameResult, StreamingTracker, encode_frames, segment_alone


@dataclass
class FrameStream:
    """One clip for SAM-2: (time, frame) pairs, frame indices from 0. Frames before the first key frame are
    not tracked (their result is None); ``every_frame``: every later frame is prompted and read alone."""

    frames: Iterable[tuple[float, np.ndarray]]
    tracker: StreamingTracker
    prompt_tokens: torch.Tensor
    keys: set[int]
    every_frame: bool = False


@dataclass
class _Frame:
    stream_no: int
    stream: FrameStream
    index: int
    time_s: float
    image: np.ndarray

    @property
    def tracked(self) -> bool:
        return self.index >= min(self.stream.keys)


def run_streams(sam: LanguageSAM2, streams: Iterable[FrameStream], frame_batch: int,
                context: Callable[[], AbstractContextManager]) -> Iterator[tuple[int, float, tuple[int, int],
                                                                                  FrameResult | None]]:
    """(stream number, time, (height, width), SAM-2's result on the device or None) per frame, in order.
    ``context``: entered around each group's model calls (inference mode, autocast)."""
    if frame_batch < 1:
        raise ValueError(f"frame_batch must be >= 1, got {frame_batch}")
    group: list[_Frame] = []
    for stream_no, stream in enumerate(streams):
        for index, (time_s, image) in enumerate(stream.frames):
            group.append(_Frame(stream_no, stream, index, time_s, image))
            if sum(f.tracked for f in group) >= frame_batch:
                yield from _run_group(sam, group, context)
                group = []
    yield from _run_group(sam, group, context)


def _run_group(sam: LanguageSAM2, group: list[_Frame], context) -> Iterator[tuple[int, float, tuple[int, int],
                                                                                  FrameResult | None]]:
    tracked = [f for f in group if f.tracked]
    results: dict[int, FrameResult] = {}
    if tracked:
        with context():
            backbones = encode_frames(sam, [f.image for f in tracked])
            alone = []
            for frame, backbone in zip(tracked, backbones):
                stream = frame.stream
                features = stream.tracker.features(backbone)
                if stream.every_frame:
                    alone.append((frame, (frame.index, features, stream.prompt_tokens)))
                else:
                    prompts = stream.prompt_tokens if frame.index in stream.keys else None
                    results[id(frame)] = stream.tracker.step(frame.index, features, prompts)
            del backbones  # the heads below need only the features the trackers hold
            for (frame, _), result in zip(alone, segment_alone(sam, [item for _, item in alone])):
                results[id(frame)] = result
    for frame in group:
        yield frame.stream_no, frame.time_s, frame.image.shape[:2], results.get(id(frame))
