"""User-labelled training data for fine-tuning a real Sa2VA checkpoint: one JSON object per line.

    {"video": "clips/cam3.mp4", "start_s": 12.0, "end_s": 15.0, "fps": 4,
     "question": "Please segment the man in the red coat.", "answer": "Sure, [SEG].",
     "masks": [[{"time_s": 12.0, "rle": {"size": [720, 1280], "counts": "..."}}, {"time_s": 12.25, "rle": null}, ...]]}

- `video` (relative paths are from the JSONL file's folder) or `image` for a still; `start_s`/`end_s`
  (seconds) and `fps` (frames per second sampled, default 4) choose the frames of a video.
- `question`/`answer`: one user turn and the answer to learn; the answer holds one `[SEG]` per object
  to segment ("Sure, [SEG].", or a grounded caption "<p>the dog</p> [SEG] runs").
- `masks`: one list per `[SEG]`, in order, of {time_s, rle}: COCO RLE (`pycocotools` format, counts as a
  string) of the object on the frame at time_s, or null where the object is not visible. Every sampled
  frame needs an annotation within half a frame interval; frames without one are left out. Masks of
  another size than the decoded frame are resized. Text-only samples (captions, yes/no) have no masks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, Field, ValidationError

from sa2va_engine.masklet import Rle
from sa2va_engine.prompts import SEG_TOKEN
from sa2va_engine.key_frames import key_frame_indices
from sa2va_engine.training.train_sample import TrainSample
from sa2va_engine.user_error import UserError
from tools.video_decode import decode_frames


class LabelledDataError(UserError):
    pass


class MaskLabel(BaseModel):
    time_s: float = Field(ge=0)
    rle: Rle | None = None


class LabelledSample(BaseModel):
    video: str | None = None
    image: str | None = None
    start_s: float = Field(default=0.0, ge=0)
    end_s: float | None = None
    fps: float = Field(default=4.0, gt=0)
    question: str
    answer: str
    masks: list[list[MaskLabel]] = Field(default_factory=list)


def read_labelled(path: Path, max_side: int = 1024) -> Iterator[TrainSample]:
    """Training samples from a JSONL file; a malformed line is a one-line error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise LabelledDataError(f"{path}: no such labelled-data file")
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            label = LabelledSample.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise LabelledDataError(f"{where}: {str(exc).splitlines()[0]}") from None
        yield _sample(label, path.parent, where, max_side)


def _sample(label: LabelledSample, root: Path, where: str, max_side: int) -> TrainSample:
    if (label.video is None) == (label.image is None):
        raise LabelledDataError(f"{where}: give exactly one of 'video' or 'image'")
    if label.answer.count(SEG_TOKEN) != len(label.masks):
        raise LabelledDataError(f"{where}: the answer has {label.answer.count(SEG_TOKEN)} [SEG] but "
                                f"{len(label.masks)} mask tracks are given")
    source = root / (label.video or label.image)
    if label.image is not None:
        image = cv2.imread(str(source), cv2.IMREAD_COLOR)
        if image is None:
            raise LabelledDataError(f"{where}: cannot read image {source}")
        frames, times = [cv2.cvtColor(image, cv2.COLOR_BGR2RGB)], [0.0]
    else:
        decoded = list(decode_frames(source, sample_fps=label.fps, max_side=max_side, start_s=label.start_s,
                                     end_s=label.end_s))
        frames, times = [f.image for f in decoded], [f.time_s for f in decoded]
    tolerance = 0.5 / label.fps
    keep, tracks = [], [[] for _ in label.masks]
    for i, t in enumerate(times):
        found = [min(track, key=lambda m: abs(m.time_s - t), default=None) for track in label.masks]
        if any(m is None or abs(m.time_s - t) > tolerance for m in found):
            continue
        keep.append(i)
        for j, m in enumerate(found):
            tracks[j].append(_mask(m.rle, frames[i].shape[:2]))
    if label.masks and not keep:
        raise LabelledDataError(f"{where}: no sampled frame has an annotation for every [SEG]")
    keep = keep if label.masks else list(range(len(frames)))
    if not keep:
        raise LabelledDataError(f"{where}: no frames in the given window")
    kept = [frames[i] for i in keep]
    return TrainSample(frames=kept, key_frames=key_frame_indices(len(kept)), question=label.question, answer=label.answer,
                       masks=[np.stack(t) for t in tracks], task="labelled")


def _mask(rle: Rle | None, shape: tuple[int, int]) -> np.ndarray:
    if rle is None:
        return np.zeros(shape, bool)
    mask = rle.decode()
    if mask.shape != shape:
        mask = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
    return mask
