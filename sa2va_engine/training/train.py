"""Training Sa2VA: next-token cross-entropy on the answer plus mask losses on every `[SEG]`.

The `[SEG]` hidden state goes through `text_hidden_fcs` into SAM-2's mask decoder, so the mask loss
trains the LLM too. Mask losses follow the reference recipe: sigmoid BCE (weight 2.0) and Dice (weight
0.5); SAM-2's object score is trained with BCE on visibility, so an object that left the frame is
reported absent. SAM-2 runs exactly as at inference (`StreamingTracker`: key frames prompted, the other
frames from memory), so what is trained is what `track` runs.

Two regimes:
- from scratch (the project's tiny demo model): everything trains, SAM-2 included;
- fine-tuning a real checkpoint: SAM-2 stays frozen (as in the paper) and the LLM gets LoRA adapters
  (peft), merged back before saving so the result is an ordinary checkpoint in the official layout.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from pydantic import BaseModel, Field

from sa2va_engine.frame_pixels import shrunk
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.sam2_model import LanguageSAM2
from sa2va_engine.sam2_tracker import StreamingTracker
from sa2va_engine.training.train_sample import TrainSample


class LoraSettings(BaseModel):
    rank: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    # The LLM's projections; Qwen-VL vision blocks name theirs `qkv`/`proj`, so these touch only the LLM.
    targets: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                         "gate_proj", "up_proj", "down_proj"])


class TrainConfig(BaseModel):
    steps: int = Field(default=1000, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    warmup_steps: int = Field(default=50, ge=0)
    weight_decay: float = Field(default=0.01, ge=0)
    grad_clip: float = Field(default=1.0, gt=0)
    mask_bce_weight: float = 2.0
    dice_weight: float = 0.5
    score_weight: float = 1.0
    train_sam2: bool = Field(default=False, description="False keeps SAM-2 frozen (the paper's choice for real checkpoints)")
    sam2_lr: float | None = Field(default=None, gt=0, description="peak learning rate of SAM-2's weights (default: lr)")
    sam2_parts: list[str] | None = Field(default=None, description="with train_sam2, only SAM-2's top-level "
                                         "submodules so named train (e.g. sam2_pretrain.MEMORY_PARTS); default all")
    train_llm: bool = Field(default=True, description="False freezes the MLLM and text_hidden_fcs (ignored with lora)")
    lora: LoraSettings | None = Field(default=None, description="LoRA on the LLM instead of training all of it")
    seed: int = 0
    batch_size: int = Field(default=1, ge=1, description="samples per optimizer step, run as one padded LLM batch")
    log_every: int = Field(default=25, ge=1)
    time_limit_s: float | None = Field(default=None, gt=0, description="stop early after this many seconds")


class StepLosses(BaseModel):
    step: int
    total: float
    ce: float
    mask_bce: float = 0.0
    dice: float = 0.0
    score: float = 0.0
    task: str = ""


class TrainReport(BaseModel):
    steps: int
    seconds: float
    history: list[StepLosses]

    def mean(self, field: str, last: int = 50) -> float:
        values = [getattr(h, field) for h in self.history[-last:]]
        return float(np.mean(values)) if values else float("nan")


def _llm_image(sample: TrainSample, index: int, frame_pixels: int | None) -> Image.Image:
    """A frame of ``sample`` as the engine gives it to the LLM: within the checkpoint's frame budget, unless it is a
    region seen up close (`TrainSample.zoomed`)."""
    image = Image.fromarray(sample.frames[index])
    return image if sample.zoomed else shrunk(image, frame_pixels)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Naive Dice on sigmoid probabilities, per mask, averaged (the reference's DiceLoss with eps=1)."""
    p = logits.sigmoid().flatten(1)
    t = target.flatten(1)
    return (1 - (2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


def live_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    live = logits > -100
    return F.binary_cross_entropy_with_logits(logits[live], target[live]) if live.any() else logits.sum() * 0


def clip_mask_losses(sam: LanguageSAM2, frames: Sequence[np.ndarray], key_frames: Sequence[int], prompts: torch.Tensor,
                     masks: Sequence[np.ndarray], row_sizes: Sequence[int] | None = None):
    """Run SAM-2 through the clip as `track` does (``prompts`` (K, 1, 256) on the key frames, memory on the
    rest) and compare every frame with the ground truth ``masks`` (K arrays of (T, H, W)): BCE, Dice and
    the object score's BCE against visibility. ``row_sizes``: how many of the objects each batch row
    brought (default: all from one row)."""
    tracker = StreamingTracker(sam, prompts.shape[0])
    keys = set(key_frames)
    first = min(keys)
    logits, scores, targets, visible = [], [], [], []
    gt = torch.from_numpy(np.stack(masks, axis=1)).float()  # (T, K, H, W)
    for t, frame in enumerate(frames):
        if t < first:
            continue
        result = tracker.step(t, tracker.encode(frame), prompts if t in keys else None)
        low = result.low_res_logits[:, 0]  # (K, h, w)
        logits.append(low)
        scores.append(result.object_scores)
        targets.append(F.interpolate(gt[t].unsqueeze(1), size=low.shape[-2:], mode="area")[:, 0])
        visible.append((gt[t].flatten(1).sum(1) > 0).float())
    logits_t = torch.stack(logits, 1)  # (K, frames, h, w)
    target_t = torch.stack(targets, 1).to(logits_t.device)
    # SAM-2 writes a large negative constant where it scores the object absent; those pixels carry no
    # gradient and are left to the score loss. BCE pools a row's objects, then averages the rows, so
    # rows sharing this pass weigh what they would apart.
    edges = np.cumsum([0, *(row_sizes or [len(masks)])])
    bce = torch.stack([live_bce(logits_t[a:b], target_t[a:b]) for a, b in zip(edges[:-1], edges[1:])]).mean()
    dice = dice_loss(logits_t.flatten(0, 1).clamp(min=-30), target_t.flatten(0, 1))
    score_p = torch.cat(scores).clamp(1e-6, 1 - 1e-6)
    score = F.binary_cross_entropy(score_p, torch.cat(visible).to(score_p.device))
    return bce, dice, score


class Trainer:
    def __init__(self, engine: Sa2VA, config: TrainConfig):
        self.engine = engine
        self.config = config
        self.model = engine.model
        if config.lora is not None:
            self._add_lora(config.lora)
        else:
            # Set every time: a model carries its requires_grad flags from one training stage to the next.
            for part in (self.model.mllm, self.model.text_hidden_fcs):
                for p in part.parameters():
                    p.requires_grad_(config.train_llm)
        for name, p in self.model.sam2.named_parameters():
            p.requires_grad_(config.train_sam2 and (config.sam2_parts is None or name.split(".")[0] in config.sam2_parts))
        # SAM-2 gets its own peak rate: trained from scratch at the LLM's 1e-3, its mask decoder settles
        # on the union of all objects and ignores the prompt (bench/README.md, demo model).
        sam2_ids = {id(p) for p in self.model.sam2.parameters()}
        groups = []
        for is_sam2, lr in ((False, config.lr), (True, config.sam2_lr or config.lr)):
            params = [p for p in self.model.parameters() if p.requires_grad and (id(p) in sam2_ids) == is_sam2]
            groups += [{"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay, "lr": lr},
                       {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0, "lr": lr}]
        groups = [g for g in groups if g["params"]]
        if not groups:
            raise ValueError("TrainConfig: nothing to train (train_llm and train_sam2 are both off, or sam2_parts "
                             "names no SAM-2 submodule)")
        self.optimizer = torch.optim.AdamW(groups, lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.tokenizer = engine.family.tokenizer(engine.processor)

    def _lr_factor(self, step: int) -> float:
        """Linear warmup, then cosine decay to 5% of the peak."""
        c = self.config
        if step < c.warmup_steps:
            return (step + 1) / c.warmup_steps
        progress = (step - c.warmup_steps) / max(1, c.steps - c.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    # -- LoRA ---------------------------------------------------------------------------------
    def _add_lora(self, lora: LoraSettings) -> None:
        from peft import LoraConfig, get_peft_model

        for p in self.model.mllm.parameters():
            p.requires_grad_(False)
        config = LoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                            target_modules=lora.targets, bias="none")
        self.model.mllm = get_peft_model(self.model.mllm, config)
        for p in self.model.text_hidden_fcs.parameters():
            p.requires_grad_(True)

    def finish(self) -> None:
        """Merge LoRA adapters into the weights so the model saves in the official layout."""
        if self.config.lora is not None and hasattr(self.model.mllm, "merge_and_unload"):
            self.model.mllm = self.model.mllm.merge_and_unload()
        self.model.eval()

    # -- one step -----------------------------------------------------------------------------
    def losses(self, samples: TrainSample | Sequence[TrainSample]) -> tuple[torch.Tensor, StepLosses]:
        """Mean over ``samples`` of answer cross-entropy plus, for samples with masks, the mask losses. The
        samples go through the LLM as one right-padded batch (one vision pass over all their images)."""
        batch = [samples] if isinstance(samples, TrainSample) else list(samples)
        engine, c = self.engine, self.config
        family, processor = engine.family, engine.processor
        images = [[_llm_image(s, i, engine.frame_pixels) for i in s.key_frames] for s in batch]
        prompts = [family.render(processor, len(imgs), s.question) for s, imgs in zip(batch, images)]
        fulls = [p + s.answer + self.tokenizer.eos_token for p, s in zip(prompts, batch)]
        flat = [im for imgs in images for im in imgs]
        side, self.tokenizer.padding_side = self.tokenizer.padding_side, "right"
        try:
            inputs = dict(processor(text=fulls, images=flat or None, padding=True, return_tensors="pt"))
        finally:
            self.tokenizer.padding_side = side
        lengths = inputs["attention_mask"].sum(1).tolist()
        ids = inputs["input_ids"]
        labels = ids.clone()
        starts = []
        for row, (s, prompt, imgs, n) in enumerate(zip(batch, prompts, images, lengths)):
            start = self._prompt_length(ids[row, :n], s.answer, prompt, imgs)
            labels[row, :start] = -100
            labels[row, n:] = -100
            starts.append(start)
        inputs = {k: v.to(engine.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(engine.dtype)
        out = self.model.mllm(**inputs, position_ids=family.positions(self._base_mllm(), inputs),
                              output_hidden_states=True)
        # Per-sample mean over answer tokens, then over the batch: a long caption and a one-word "Yes"
        # weigh the same.
        logits = out.logits[:, :-1].float()
        target = labels[:, 1:].to(logits.device)
        token_ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100,
                                   reduction="none").view(target.shape)
        answered = (target != -100).float()
        ce = ((token_ce * answered).sum(1) / answered.sum(1).clamp(min=1)).mean()
        total = ce
        parts = StepLosses(step=0, total=0.0, ce=ce.item(), task="+".join(sorted({s.task for s in batch})))
        # Rows over the same clip (the same frames object) share one SAM-2 pass, as `track` shares it between
        # expressions: one image encoding, each row's objects prompted side by side.
        groups: dict[tuple, list[tuple[torch.Tensor, list[np.ndarray], TrainSample]]] = {}
        for row, (s, start, n) in enumerate(zip(batch, starts, lengths)):
            seg_positions = (ids[row, start:n] == engine.seg_id).nonzero().flatten() + start
            if not (len(seg_positions) and s.masks):
                continue
            k = min(len(seg_positions), len(s.masks))
            states = out.hidden_states[-1][row, seg_positions[:k].to(out.hidden_states[-1].device)]
            groups.setdefault((id(s.frames), tuple(s.key_frames)), []).append((states, list(s.masks[:k]), s))
        mask_terms, weights = [], []
        for members in groups.values():
            states = torch.cat([m[0] for m in members])
            masks = [mask for m in members for mask in m[1]]
            sample = members[0][2]
            mask_terms.append(clip_mask_losses(self.model.sam2, sample.frames, sample.key_frames,
                                               self.model.seg_embeddings(states), masks, [len(m[1]) for m in members]))
            weights.append(len(members))
        if mask_terms:
            w = torch.tensor(weights, dtype=torch.float32) / sum(weights)
            bce, dice, score = ((torch.stack(t) * w.to(t[0].device)).sum() for t in zip(*mask_terms))
            share = sum(weights) / len(batch)
            total = total + share * (c.mask_bce_weight * bce + c.dice_weight * dice + c.score_weight * score)
            parts.mask_bce, parts.dice, parts.score = bce.item(), dice.item(), score.item()
        parts.total = total.item()
        return total, parts

    def _prompt_length(self, ids: torch.Tensor, answer: str, prompt: str, images) -> int:
        """Where the answer starts. The answer's own tokens normally close the sequence (the template ends the
        prompt with a newline, a token boundary), so the images need not be processed a second time; when the
        tokenizer merged across the boundary, the prompt alone is encoded to find it."""
        tail = self.tokenizer(answer + self.tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        if ids[-len(tail):].tolist() == tail:
            return len(ids) - len(tail)
        processor = self.engine.processor
        return processor(text=[prompt], images=images, return_tensors="pt")["input_ids"].shape[1]

    def _base_mllm(self):
        mllm = self.model.mllm
        return mllm.get_base_model() if hasattr(mllm, "get_base_model") else mllm

    def step(self, samples: TrainSample | Sequence[TrainSample]) -> StepLosses:
        self.optimizer.zero_grad(set_to_none=True)
        loss, parts = self.losses(samples)
        # No gradient when only SAM-2's memory parts train and every frame of the batch is a key frame.
        if loss.requires_grad:
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], self.config.grad_clip)
            self.optimizer.step()
        self.scheduler.step()
        return parts


def train(engine: Sa2VA, samples: Callable[[int], TrainSample], config: TrainConfig,
          log: Callable[[str], None] | None = print) -> TrainReport:
    """Train ``engine`` in place for ``config.steps`` optimizer steps; ``samples(i)`` gives the i-th example
    (step s uses examples s * batch_size ... s * batch_size + batch_size - 1).

    Dropout stays off (the model is kept in eval mode) so SAM-2 runs the exact inference code path,
    whose training-mode branches differ."""
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    trainer = Trainer(engine, config)
    trainer.model.eval()
    history: list[StepLosses] = []
    start = time.monotonic()
    with torch.enable_grad():
        for step in range(config.steps):
            batch = config.batch_size
            parts = trainer.step([samples(step * batch + j) for j in range(batch)])
            parts.step = step
            history.append(parts)
            if log and (step % config.log_every == 0 or step == config.steps - 1):
                recent = history[-config.log_every:]
                log(f"step {step:5d}  loss {np.mean([h.total for h in recent]):.3f}  "
                    f"ce {np.mean([h.ce for h in recent]):.3f}  "
                    f"mask {np.mean([h.mask_bce for h in recent if h.mask_bce]) if any(h.mask_bce for h in recent) else 0:.3f}  "
                    f"{time.monotonic() - start:.0f} s")
            if config.time_limit_s and time.monotonic() - start > config.time_limit_s:
                break
    trainer.finish()
    return TrainReport(steps=len(history), seconds=time.monotonic() - start, history=history)
