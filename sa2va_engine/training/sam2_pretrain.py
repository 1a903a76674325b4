"""SAM-2 pretraining for a Sa2VA that starts from scratch (the demo model): learn to pick an object by its
sparse prompt token before the LLM has to supply that token.

Official Sa2VA starts from a SAM-2 that was pretrained on clicks and boxes, so its mask decoder already
selects one object by a sparse token; the LLM only has to learn to emit a useful one. A tiny SAM-2 from
scratch has no such skill, and trained jointly with an LLM whose `[SEG]` states barely differ between
phrases it learns to mask every object and ignore its prompt (bench/README.md, demo model). Here the
prompt is a stand-in the decoder can read from the first step: each word of the referring phrase has a
fixed random 256-d code and the phrase's prompt is their sum. The decoder learns to match a token against
colour and shape in the image, first on single frames, then (memory parts only) on clips, where memory
attention and the memory encoder learn to carry the pick through the frames. The LLM is then meant to be
trained against this SAM-2, frozen, as official Sa2VA trains against a frozen pretrained SAM-2.

Measured (bench/README.md, demo model): on single frames the decoder picks its own object for 0.83 of
the codes, and an LLM trained on single-frame referring against it picks 0.75. The shipped demo model is
built this way (`sa2va_engine/synthetic/demo_recipe.py`) and picks 0.75 after its later stages, whose all-task stage
trains only MEMORY_PARTS of this SAM-2.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from sa2va_engine.key_frames import key_frame_indices
from sa2va_engine.sam2_model import LanguageSAM2
from sa2va_engine.synthetic.language import referring_expressions, visible_objects
from sa2va_engine.synthetic.samples import ReferImageGroups, SampleSource
from sa2va_engine.training.train import TrainConfig, clip_mask_losses


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


@dataclass
class NamedObjects:
    """A clip (or one frame) with every object in it that a phrase names: phrase and (T, H, W) masks."""

    frames: list[np.ndarray]
    key_frames: list[int]
    objects: list[tuple[str, np.ndarray]]


def frame_examples(source: ReferImageGroups) -> Callable[[int], NamedObjects]:
    """Single frames: where the decoder learns to pick (cheap, ~0.2 s a step at the demo size)."""
    def example(step: int) -> NamedObjects:
        frames, named = source.frame_objects(step)
        return NamedObjects(frames, [0], [(phrase, mask[None]) for phrase, mask in named])
    return example


def clip_examples(source: SampleSource, frames: tuple[int, int] = (6, 10)) -> Callable[[int], NamedObjects]:
    """Clips at the indexer's rate, key frames as `track` picks them: where memory attention and the memory
    encoder learn to follow what the key frames picked."""
    def example(step: int) -> NamedObjects:
        rng = random.Random(source.seed * 1_000_039 + step)
        for _ in range(10):
            world = source.world(rng.randrange(source.n_worlds))
            count = min(world.n_frames, rng.randint(*frames))
            first = rng.randrange(world.n_frames - count + 1)
            indices = list(range(first, first + count))
            present = visible_objects(world, world.time_s(first), world.time_s(indices[-1]) + 1 / world.config.fps)
            named = [(rng.choice(phrases), source.track(world, indices, oid)) for oid in present
                     if (phrases := referring_expressions(world, oid, appearance_only=True))]
            if named:
                return NamedObjects([world.frame(i) for i in indices], key_frame_indices(count), named)
        raise RuntimeError(f"no clip with a nameable object in 10 draws (seed {source.seed}, step {step})")
    return example


# What carries a key frame's pick to the other frames. Training only these on clips leaves every key frame's
# output exactly as the frame stage left it (`no_mem_embed` is added on key frames, so it stays out).
MEMORY_PARTS = ("memory_encoder", "memory_attention", "obj_ptr_proj", "mask_downsample", "maskmem_tpos_enc",
                "no_obj_ptr")


def pretrain_sam2(sam: LanguageSAM2, examples: Callable[[int], NamedObjects], steps: int, lr: float = 2e-4,
                  seed: int = 0, log: Callable[[str], None] | None = print, log_every: int = 100,
                  codes: WordCodes | None = None, parts: tuple[str, ...] | None = None) -> list[float]:
    """Train ``sam`` in place for ``steps`` steps, one example a step with all its named objects as the
    batch, with the trainer's mask losses and weights; returns every step's loss.
    The rate matters: at the LLM's 1e-3 the decoder settles on the union of the objects even with these
    prompts, at 2e-4 it learns to pick. Pass the same ``codes`` to successive calls. ``parts``: train only
    the submodules so named (e.g. MEMORY_PARTS), the rest stays as it is; default all of SAM-2."""
    torch.manual_seed(seed)
    weights = TrainConfig()  # the trainer's loss weights and gradient clip
    codes = codes or WordCodes(seed)
    params = []
    for name, p in sam.named_parameters():
        p.requires_grad_(parts is None or name.split(".")[0] in parts)
        if p.requires_grad:
            params.append(p)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    device = next(sam.parameters()).device
    losses: list[float] = []
    start = time.monotonic()
    with torch.enable_grad():
        for step in range(steps):
            example = examples(step)
            prompts = torch.stack([codes(phrase) for phrase, _ in example.objects])[:, None].to(device)
            bce, dice, score = clip_mask_losses(sam, example.frames, example.key_frames, prompts,
                                                [masks for _, masks in example.objects])
            loss = weights.mask_bce_weight * bce + weights.dice_weight * dice + weights.score_weight * score
            losses.append(loss.item())
            # No gradient e.g. with memory parts only, on a clip whose frames are all key frames.
            if loss.requires_grad:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, weights.grad_clip)
                optimizer.step()
            if log and (step % log_every == log_every - 1 or step == steps - 1):
                log(f"sam2 pretrain step {step:5d}  loss {np.mean(losses[-log_every:]):.3f}  "
                    f"{time.monotonic() - start:.0f} s")
    return losses
