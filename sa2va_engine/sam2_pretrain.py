"""SAM-2 pretraining for a Sa2VA that starts from scratch (the demo model): learn to pick an object by its
sparse prompt token before the LLM has to supply that token.

Official Sa2VA starts from a SAM-2 that was pretrained on clicks and boxes, so its mask decoder already
selects one object by a sparse token; the LLM only has to learn to emit a useful one. A tiny SAM-2 from
scratch has no such skill, and trained jointly with an LLM whose `[SEG]` states barely differ between
phrases it learns to mask every object and ignore its prompt (bench/README.md, demo model). Here the
prompt is a stand-in the decoder can read from the first step: each word of the referring phrase has a
fixed random 256-d code and the phrase's prompt is their sum. The decoder learns to match a token against
colour and shape in the image; the LLM is trained afterwards, against a decoder that answers to its prompt.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from sa2va_engine.sam2_model import LanguageSAM2
from sa2va_engine.sam2_tracker import StreamingTracker
from sa2va_engine.synthetic_samples import ReferImageGroups
from sa2va_engine.train import dice_loss, live_bce


class WordCodes:
    """A fixed random vector per word, drawn from ``seed`` in order of first use; a phrase is their sum."""

    def __init__(self, seed: int = 0, width: int = 256):
        self.generator = torch.Generator().manual_seed(seed)
        self.width = width
        self.codes: dict[str, torch.Tensor] = {}

    def __call__(self, phrase: str) -> torch.Tensor:
        total = torch.zeros(self.width)
        for word in phrase.lower().split():
            if word not in self.codes:
                self.codes[word] = torch.randn(self.width, generator=self.generator)
            total = total + self.codes[word]
        return total


def pretrain_sam2(sam: LanguageSAM2, frames: ReferImageGroups, steps: int, lr: float = 2e-4, seed: int = 0,
                  log: Callable[[str], None] | None = print, log_every: int = 100) -> list[float]:
    """Train ``sam`` in place for ``steps`` steps, one frame of ``frames`` a step with all its named
    objects as the batch; returns the loss of every step. The rate matters: at the LLM's 1e-3 the decoder
    settles on the union of the objects even with these prompts, at 2e-4 it learns to pick."""
    torch.manual_seed(seed)
    codes = WordCodes(seed)
    params = list(sam.parameters())
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    losses: list[float] = []
    start = time.monotonic()
    with torch.enable_grad():
        for step in range(steps):
            images, named = frames.frame_objects(step)
            loss = _frame_loss(sam, images[0], named, codes)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            losses.append(loss.item())
            if log and (step % log_every == log_every - 1 or step == steps - 1):
                log(f"sam2 pretrain step {step:5d}  loss {np.mean(losses[-log_every:]):.3f}  "
                    f"{time.monotonic() - start:.0f} s")
    return losses


def _frame_loss(sam: LanguageSAM2, image: np.ndarray, named: list[tuple[str, np.ndarray]],
                codes: WordCodes) -> torch.Tensor:
    """The trainer's mask losses (BCE x2, Dice x0.5, object score x1) on one frame's objects."""
    tracker = StreamingTracker(sam, len(named))
    device = tracker.device
    prompts = torch.stack([codes(phrase) for phrase, _ in named])[:, None].to(device)
    result = tracker.step(0, tracker.encode(image), prompts)
    low = result.low_res_logits[:, 0]
    truth = torch.from_numpy(np.stack([mask for _, mask in named])).float().to(device)
    target = F.interpolate(truth[:, None], size=low.shape[-2:], mode="area")[:, 0]
    scores = result.object_scores.clamp(1e-6, 1 - 1e-6)
    return (2.0 * live_bce(low, target) + 0.5 * dice_loss(low.clamp(min=-30), target)
            + F.binary_cross_entropy(scores, torch.ones_like(scores)))
