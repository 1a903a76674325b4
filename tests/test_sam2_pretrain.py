"""SAM-2 pretraining with word-code prompts: the codes are fixed per word and add up per phrase, the
loss falls, and only SAM-2's weights move."""

from __future__ import annotations

import torch

from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.sam2_pretrain import WordCodes, pretrain_sam2
from sa2va_engine.synthetic_samples import ReferImageGroups


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
    losses = pretrain_sam2(engine.model.sam2, ReferImageGroups(seed=1, per_image=1), steps=40, lr=1e-3, log=None)
    assert len(losses) == 40 and all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10])
    assert not torch.equal(decoder_before, engine.model.sam2.sam_mask_decoder.output_upscaling[0].weight)
    assert all(torch.equal(v, engine.model.mllm.state_dict()[k]) for k, v in llm_before.items())
    assert torch.equal(fcs_before, engine.model.text_hidden_fcs[0].weight)
