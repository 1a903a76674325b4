"""SAM-2 video tracking driven by language prompts, streaming one frame at a time.

Every frame is encoded once by SAM-2's image encoder and the features are shared by all K objects
(the batch dimension of the memory attention and mask decoder). Key frames get the `[SEG]`
embeddings as prompts and become conditioning memory; every other frame is segmented from memory.
Only the memory SAM-2 can still attend to is kept (the last `num_maskmem` frames and
`max_obj_ptrs_in_encoder` object pointers, plus the key frames), so memory does not grow with the
number of frames. A frame's memory is encoded when the next frame needs it, so the last frame of a
clip (and the only frame of an image) never runs SAM-2's memory encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from sa2va_engine.sam2_model import LanguageSAM2


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
        """(H, W, 3) uint8 RGB frame -> features shared by all objects. Only this touches 1024 px."""
        self.encoder_calls += 1
        sam = self.sam
        dtype = next(sam.parameters()).dtype
        # The frame crosses to the device as uint8 and is resized there: a quarter of the bytes of
        # the float 1024x1024 input, and no antialiased resize on the host.
        rgb = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device).permute(2, 0, 1)
        pixels = sam.normalize(rgb).to(dtype).unsqueeze(0)
        backbone = sam.forward_image(pixels)
        expanded = {
            "backbone_fpn": [f.expand(self.k, -1, -1, -1) for f in backbone["backbone_fpn"]],
            "vision_pos_enc": [p.expand(self.k, -1, -1, -1) for p in backbone["vision_pos_enc"]],
        }
        _, feats, pos, sizes = sam._prepare_backbone_features(expanded)
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

