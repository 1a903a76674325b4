"""The streaming tracker gives what SAM-2's own track_step loop gives, with less memory-encoder work."""

from __future__ import annotations

import numpy as np
import torch

from sa2va_engine.sam2_tracker import StreamingTracker
from tests.test_sam2_shared import CONFIG, _sam

KEYS = {0, 2}


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.RandomState(3)
    return [(rng.rand(40, 56, 3) * 255).astype(np.uint8) for _ in range(n)]


def _prompts(k: int) -> torch.Tensor:
    return torch.randn(k, 1, CONFIG.d_model, generator=torch.Generator().manual_seed(5))


def _stock_masks(sam, frames, prompts) -> list[torch.Tensor]:
    """SAM-2's loop as its video predictor runs it: the memory encoder right after every frame."""
    encoder = StreamingTracker(sam, prompts.shape[0])  # only for its encode()
    output = {"cond_frame_outputs": {}, "non_cond_frame_outputs": {}}
    masks = []
    for i, frame in enumerate(frames):
        f = encoder.encode(frame)
        kwargs = dict(frame_idx=i, is_init_cond_frame=i in KEYS, current_vision_feats=f.vision_feats,
                      current_vision_pos_embeds=f.vision_pos, feat_sizes=f.feat_sizes, point_inputs=None,
                      mask_inputs=None, output_dict=output, num_frames=i + 1, run_mem_encoder=True)
        if i in KEYS:
            with sam.language_prompt(prompts):
                out = sam.track_step(**kwargs)
        else:
            out = sam.track_step(**kwargs)
        output["cond_frame_outputs" if i in KEYS else "non_cond_frame_outputs"][i] = out
        masks.append(out["pred_masks"])
    return masks


def test_deferred_memory_encoding_gives_the_stock_masks_and_skips_the_last_frame():
    sam, frames, prompts = _sam(), _frames(6), _prompts(3)
    calls = []
    sam.memory_encoder.register_forward_hook(lambda *a: calls.append(1))
    with torch.inference_mode():
        stock = _stock_masks(sam, frames, prompts)
        assert len(calls) == len(frames)
        calls.clear()
        tracker = StreamingTracker(sam, prompts.shape[0])
        ours = [tracker.step(i, tracker.encode(f), prompts if i in KEYS else None).low_res_logits
                for i, f in enumerate(frames)]
    assert len(calls) == len(frames) - 1  # nothing reads the last frame's memory
    for a, b in zip(ours, stock):
        assert torch.equal(a, b.float())
    assert not torch.equal(ours[3], ours[4])  # frames differ, so the comparison means something


def test_a_single_frame_never_runs_the_memory_encoder():
    sam, prompts = _sam(), _prompts(2)
    calls = []
    sam.memory_encoder.register_forward_hook(lambda *a: calls.append(1))
    with torch.inference_mode():
        tracker = StreamingTracker(sam, 2)
        result = tracker.step(0, tracker.encode(_frames(1)[0]), prompts)
    assert calls == [] and result.low_res_logits.shape[0] == 2
