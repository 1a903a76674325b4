"""SAM-2 video tracking driven by language prompts, streaming one frame at a time.

Every frame is encoded once by SAM-2's image encoder and the features are shared by all K objects
(the batch dimension of the memory attention and mask decoder). Key frames get the `[SEG]`
embeddings as prompts and become conditioning memory; every other frame is segmented from memory.
Only the memory SAM-2 can still attend to is kept (the last `num_maskmem` frames and
`max_obj_ptrs_in_encoder` object pointers, plus the key frames), so memory does not grow with the
number of frames. A frame's memory is encoded when the next frame needs it, so the last frame of a
clip (and the only frame of an image) never runs SAM-2's memory encoder.

The image encoder does not depend on the objects or on memory, so it can run over several frames (of one
clip or of several) in one batch (`encode_frames`); a tracker then shares each frame's output with its
objects (`StreamingTracker.features`). Frames prompted and read alone (`remember=False`) depend on nothing
but themselves, so their heads can run in one batch too (`segment_alone`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from sa2va_engine.sam2_model import LanguageSAM2


@dataclass
class FrameBackbone:
    """SAM-2's image-encoder output for one frame (batch 1), before the objects share it."""

    backbone_fpn: list[torch.Tensor]
    vision_pos_enc: list[torch.Tensor]


def encode_frames(sam: LanguageSAM2, frames: Sequence[np.ndarray]) -> list[FrameBackbone]:
    """SAM-2's image encoder over (H, W, 3) uint8 RGB frames (any sizes: each is resized to SAM-2's square input)
    in one batch. Each frame's output is what encoding it alone gives, up to float rounding (the same weights
    over a larger batch); the frames' outputs are views of the batch's, freed when the last one is."""
    device = next(sam.parameters()).device
    dtype = next(sam.parameters()).dtype
    # Each frame crosses to the device as uint8 (resized first on the host when the checkpoint's handling
    # is the reference's PIL bicubic): a quarter of the bytes of the float input.
    pixels = torch.stack([sam.input_pixels(frame, device) for frame in frames]).to(dtype)
    out = sam.forward_image(pixels)
    return [FrameBackbone([f[i:i + 1] for f in out["backbone_fpn"]], [p[i:i + 1] for p in out["vision_pos_enc"]])
            for i in range(len(frames))]


@dataclass
class FrameFeatures:
    """SAM-2 backbone output of one frame, already expanded to the K objects."""

    vision_feats: list[torch.Tensor]
    vision_pos: list[torch.Tensor]
    feat_sizes: list[tuple[int, int]]


@dataclass
class FrameResult:
    frame_index: int
    low_res_logits: torch.Tensor  # (K, 1, h, w) mask logits at SAM-2's low resolution
    object_scores: torch.Tensor  # (K,) probability that each object is visible


@dataclass
class TrackerMemory:
    """What SAM-2 reads from the past, in the layout its `track_step` expects."""

    cond: dict[int, dict] = field(default_factory=dict)
    non_cond: dict[int, dict] = field(default_factory=dict)

    def as_output_dict(self) -> dict:
        return {"cond_frame_outputs": self.cond, "non_cond_frame_outputs": self.non_cond}


@dataclass
class _PendingMemory:
    """A segmented frame whose memory has not been encoded yet: its stored outputs (the object scores
    among them), its features and the full-size masks the memory encoder reads."""

    stored: dict
    features: FrameFeatures
    high_res_masks: torch.Tensor


class StreamingTracker:
    def __init__(self, sam: LanguageSAM2, num_objects: int, remember: bool = True):
        """``remember=False``: every frame is prompted and read alone, so nothing is kept or memory-encoded."""
        self.sam = sam
        self.k = num_objects
        self.remember = remember
        self.memory = TrackerMemory()
        self.encoder_calls = 0
        self._pending: _PendingMemory | None = None
        # How far back SAM-2 looks: spatial memories and object pointers.
        self._keep = max(sam.num_maskmem, sam.max_obj_ptrs_in_encoder) + 1

    @property
    def device(self) -> torch.device:
        return next(self.sam.parameters()).device

    def encode(self, frame: np.ndarray) -> FrameFeatures:
        """(H, W, 3) uint8 RGB frame -> features shared by all objects. Only the encoder touches SAM-2's full size."""
        return self.features(encode_frames(self.sam, [frame])[0])

    def features(self, backbone: FrameBackbone) -> FrameFeatures:
        """A frame's encoder output shared by this tracker's K objects (views: nothing is copied)."""
        self.encoder_calls += 1
        expanded = {
            "backbone_fpn": [f.expand(self.k, -1, -1, -1) for f in backbone.backbone_fpn],
            "vision_pos_enc": [p.expand(self.k, -1, -1, -1) for p in backbone.vision_pos_enc],
        }
        _, feats, pos, sizes = self.sam._prepare_backbone_features(expanded)
        return FrameFeatures(feats, pos, sizes)

    def step(self, frame_index: int, features: FrameFeatures, prompts: torch.Tensor | None) -> FrameResult:
        """Segment the K objects on one frame; ``prompts`` (K, 1, 256) marks a key frame."""
        sam = self.sam
        is_key = prompts is not None
        # Key frames read no memory, but encoding stays one frame behind so at most one waits.
        self._encode_pending()
        kwargs = dict(
            frame_idx=frame_index,
            is_init_cond_frame=is_key,
            current_vision_feats=features.vision_feats,
            current_vision_pos_embeds=features.vision_pos,
            feat_sizes=features.feat_sizes,
            point_inputs=None,
            mask_inputs=None,
            output_dict=self.memory.as_output_dict(),
            num_frames=frame_index + 1,  # streaming: nothing after this frame exists yet
            track_in_reverse=False,
            run_mem_encoder=False,
        )
        if is_key:
            with sam.language_prompt(prompts.to(features.vision_feats[-1].dtype)):
                out = sam.track_step(**kwargs)
        else:
            out = sam.track_step(**kwargs)
        if self.remember:
            stored = {k: out[k] for k in ("maskmem_features", "maskmem_pos_enc", "pred_masks", "obj_ptr",
                                          "object_score_logits")}
            (self.memory.cond if is_key else self.memory.non_cond)[frame_index] = stored
            self._pending = _PendingMemory(stored, features, out["pred_masks_high_res"])
            self._forget(frame_index)
        scores = torch.sigmoid(out["object_score_logits"].float()).view(-1)
        return FrameResult(frame_index, out["pred_masks"].float(), scores)

    def _encode_pending(self) -> None:
        """Run SAM-2's memory encoder on the frame segmented last, as `track_step` would have."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        stored, features = pending.stored, pending.features
        self.sam._encode_memory_in_output(features.vision_feats, features.feat_sizes, None, True, pending.high_res_masks,
                                          stored["object_score_logits"], stored)

    def _forget(self, frame_index: int) -> None:
        for old in [i for i in self.memory.non_cond if i < frame_index - self._keep]:
            del self.memory.non_cond[old]

    def held_frames(self) -> int:
        return len(self.memory.cond) + len(self.memory.non_cond)



def segment_alone(sam: LanguageSAM2, frames: Sequence[tuple[int, FrameFeatures, torch.Tensor]]) -> list[FrameResult]:
    """Frames prompted and read alone (what `StreamingTracker(remember=False).step` does to each), in one pass
    of SAM-2's heads: ``frames`` are (frame index, features shared by its K objects, prompts (K, 1, 256)), K may
    differ between frames, and all frames' objects are the rows of one batch. Each result is the one-frame
    step's up to float rounding (one frame alone: exactly it)."""
    if not frames:
        return []
    sizes = [prompts.shape[0] for _, _, prompts in frames]
    first = frames[0][1]
    if len(frames) == 1:
        feats, pos, prompts = first.vision_feats, first.vision_pos, frames[0][2]
    else:
        levels = range(len(first.vision_feats))
        feats = [torch.cat([f.vision_feats[lv] for _, f, _ in frames], dim=1) for lv in levels]
        pos = [torch.cat([f.vision_pos[lv] for _, f, _ in frames], dim=1) for lv in levels]
        prompts = torch.cat([p for _, _, p in frames])
    with sam.language_prompt(prompts.to(feats[-1].dtype)):
        out = sam.track_step(frame_idx=frames[0][0], is_init_cond_frame=True, current_vision_feats=feats,
                             current_vision_pos_embeds=pos, feat_sizes=first.feat_sizes, point_inputs=None,
                             mask_inputs=None, output_dict=TrackerMemory().as_output_dict(),
                             num_frames=frames[0][0] + 1, track_in_reverse=False, run_mem_encoder=False)
    masks = out["pred_masks"].float().split(sizes)
    scores = torch.sigmoid(out["object_score_logits"].float()).view(-1).split(sizes)
    return [FrameResult(index, m, s) for (index, _, _), m, s in zip(frames, masks, scores)]
