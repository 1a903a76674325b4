"""Typed results of the engine's inference API. Masks are bool arrays at the input's original resolution."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


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
class SegPrompt:
    """A `[SEG]` the model generated after ``phrase``: its last-layer hidden state (``state``, (hidden,), on the
    engine's device). `Sa2VA.track` can prompt SAM-2 with it directly, as the reference turns each `[SEG]` of a
    grounded caption into masks; two clauses that share a phrase ("the ball ..., the ball ...") keep two states."""

    phrase: str
    state: torch.Tensor


@dataclass(frozen=True)
class GroundedCaption:
    """``text`` is the model's answer with markup removed; ``raw`` keeps `<p>..</p> [SEG]`; ``seg_prompts`` holds
    each phrase's `[SEG]` state, in the order of ``raw``."""

    text: str
    raw: str
    phrases: list[GroundedPhrase] = field(default_factory=list)
    seg_prompts: list[SegPrompt] = field(default_factory=list)
