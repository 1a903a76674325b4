"""Reading a few real frames from the shared clips for engine tests (the ingestion tools have their own tests)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_frames(path: Path, count: int, step: int = 5, long_side: int | None = None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    index = 0
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        if index % step == 0:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if long_side:
                h, w = rgb.shape[:2]
                scale = long_side / max(h, w)
                rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            frames.append(rgb)
        index += 1
    capture.release()
    assert frames, f"could not read frames from {path}"
    return frames
