"""SAM-2 pretraining with word-code prompts: the codes are fixed per word and add up per phrase, examples
name every object of a frame or clip with its masks, the loss falls, and only SAM-2's weights move."""

from __future__ import annotations

import numpy as np
import torch

from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.training.sam2_pretrain import MEMORY_PARTS, WordCodes, clip_examples, frame_examples, pretrain_sam2
from sa2va_engine.synthetic.samples import ReferImageGroups, SampleSource


def test_word_codes_are_seeded_and_add_up_per_phrase():
    codes, again, other = WordCodes(seed=3), WordCodes(seed=3), WordCodes(seed=4)
    assert torch.equal(codes("the red box"), codes("the red box"))
    # Order of first use decides the draw, so one seed and one phrase order give the same codes anywhere.
    assert torch.equal(codes("the red box"), again("the red box"))
    assert not torch.equal(codes("the red box"), other("the red box"))
    assert torch.allclose(codes("the red box"), codes("the") + codes("red") + codes("box"))
    assert torch.equal(codes("The Red box"), codes("the red box"))
    assert codes("the red box").shape == (256,)


def test_pretraining_lowers_the_loss_and_moves_only_sam2(tiny_checkpoints):
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    llm_before = {k: v.clone() for k, v in engine.model.mllm.state_dict().items()}
    fcs_before = engine.model.text_hidden_fcs[0].weight.detach().clone()
    decoder_before = engine.model.sam2.sam_mask_decoder.output_upscaling[0].weight.detach().clone()
    losses = pretrain_sam2(engine.model.sam2, frame_examples(ReferImageGroups(seed=1, per_image=1)), steps=40, lr=1e-3, log=None)
    assert len(losses) == 40 and all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10])
    assert not torch.equal(decoder_before, engine.model.sam2.sam_mask_decoder.output_upscaling[0].weight)
    assert all(torch.equal(v, engine.model.mllm.state_dict()[k]) for k, v in llm_before.items())
    assert torch.equal(fcs_before, engine.model.text_hidden_fcs[0].weight)


def test_clip_examples_name_each_visible_object_with_its_masks_on_every_frame():
    source = SampleSource(seed=4)
    examples = clip_examples(source, frames=(6, 10))
    for step in range(5):
        example = examples(step)
        assert 6 <= len(example.frames) <= 10
        assert example.key_frames[0] == 0 and max(example.key_frames) < len(example.frames)
        phrases = [phrase for phrase, _ in example.objects]
        assert len(set(phrases)) == len(phrases), "a phrase names one object of its clip"
        height, width = example.frames[0].shape[:2]
        for phrase, masks in example.objects:
            assert masks.shape == (len(example.frames), height, width) and masks.dtype == bool
            assert masks.any(), f"{phrase} is visible somewhere in the clip"
    # Deterministic: the same step gives the same clip.
    again = clip_examples(SampleSource(seed=4), frames=(6, 10))(3)
    assert all(np.array_equal(a, b) for a, b in zip(again.frames, examples(3).frames))


def test_memory_stage_trains_only_the_memory_so_key_frames_stay_as_they_were(tiny_checkpoints):
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    sam = engine.model.sam2
    before = {name: p.detach().clone() for name, p in sam.named_parameters()}
    pretrain_sam2(sam, clip_examples(SampleSource(seed=4), frames=(6, 8)), steps=3, lr=1e-3, log=None,
                  parts=MEMORY_PARTS)
    moved = {name.split(".")[0] for name, p in sam.named_parameters() if not torch.equal(before[name], p)}
    assert "memory_attention" in moved and "memory_encoder" in moved
    assert moved <= set(MEMORY_PARTS)
