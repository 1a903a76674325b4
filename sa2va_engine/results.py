"""Typed results of the engine's inference API. Masks are bool arrays at the input's original resolution."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    seg_count: int = 0


@dataclass(frozen=True)
class Segmentation:
    """Masks for one expression: ``masks`` has shape (frames, H, W); ``scores`` is SAM-2's object score per frame."""

    expression: str
    masks: np.ndarray
    scores: np.ndarray
    answer: str = ""


@dataclass(frozen=True)
class GroundedPhrase:
    phrase: str
    masks: np.ndarray  # (frames, H, W) bool
    scores: np.ndarray


@dataclass(frozen=True)
class GroundedCaption:
    """``text`` is the model's answer with markup removed; ``raw`` keeps `<p>..</p> [SEG]`."""

    text: str
    raw: str
    phrases: list[GroundedPhrase] = field(default_factory=list)
