"""The trainer: losses fall on what it is shown, SAM-2 stays frozen when asked, LoRA fine-tuning of a
checkpoint on user-labelled data ends in an ordinary checkpoint that loads; bad labels are one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sa2va_engine.masklet import Rle
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.training.sam2_pretrain import MEMORY_PARTS
from sa2va_engine.synthetic.samples import ReferImageGroups, SampleSource
from sa2va_engine.training.train import TrainConfig, Trainer, train
from sa2va_engine.training.train_sample import TrainSample
from tests.agent_fixtures import run_sva
from tools.labelled_data import LabelledDataError, read_labelled


def small_refer_sample() -> TrainSample:
    source = SampleSource(seed=5, frames=(4, 4))
    step = next(i for i in range(200) if source(i).task == "refer")
    return source(step)


def test_training_lowers_both_losses_and_reaches_the_llm(tiny_checkpoints):
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    sample = small_refer_sample()
    before_llm = engine.model.mllm.lm_head.weight.detach().clone()
    trainer = Trainer(engine, TrainConfig(steps=12, lr=3e-3, warmup_steps=1, train_sam2=True))
    with torch.enable_grad():
        first = trainer.step(sample)
        for _ in range(10):
            last = trainer.step(sample)
    assert last.ce < 0.75 * first.ce
    assert last.mask_bce + last.dice < first.mask_bce + first.dice
    assert not torch.equal(before_llm, engine.model.mllm.lm_head.weight)


def test_frozen_sam2_still_trains_the_seg_projection(tiny_checkpoints):
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    sam_before = {k: v.clone() for k, v in engine.model.sam2.state_dict().items()}
    fcs_before = engine.model.text_hidden_fcs[0].weight.detach().clone()
    report = train(engine, lambda step: small_refer_sample(), TrainConfig(steps=3, lr=1e-3, warmup_steps=1), log=None)
    assert report.steps == 3
    assert all(torch.equal(v, engine.model.sam2.state_dict()[k]) for k, v in sam_before.items())
    assert not torch.equal(fcs_before, engine.model.text_hidden_fcs[0].weight), "mask loss reaches text_hidden_fcs"


def test_sam2_steps_at_its_own_rate(tiny_checkpoints):
    """AdamW's first step moves every weight with a gradient by about its group's rate (the gradient's
    sign), so the largest move among SAM-2's weights and among the LLM's show the two rates."""
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    parts = {"sam2": engine.model.sam2, "llm": engine.model.mllm}
    before = {name: [p.detach().clone() for p in part.parameters()] for name, part in parts.items()}
    trainer = Trainer(engine, TrainConfig(steps=5, lr=1e-3, sam2_lr=1e-4, warmup_steps=0, weight_decay=0.0,
                                          train_sam2=True))
    with torch.enable_grad():
        trainer.step(small_refer_sample())
    move = {name: max((p.detach() - b).abs().max().item() for p, b in zip(part.parameters(), before[name]))
            for name, part in parts.items()}
    assert move["sam2"] == pytest.approx(1e-4, rel=0.05)
    assert move["llm"] == pytest.approx(1e-3, rel=0.05)


def test_a_padded_batch_is_the_mean_of_its_samples(tiny_checkpoints):
    """Samples of different lengths, image counts and tasks in one right-padded LLM batch give the mean of
    their one-by-one losses: padding changes nothing the model sees."""
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    source = SampleSource(seed=5, frames=(4, 8))
    picked = {}
    for i in range(300):
        sample = source(i)
        picked.setdefault(sample.task, sample)
        if {"refer", "caption", "yes_no", "region"} <= set(picked):
            break
    batch = [picked["caption"], picked["refer"], picked["yes_no"], picked["region"]]
    assert len({len(s.key_frames) for s in batch}) > 1  # different numbers of images
    trainer = Trainer(engine, TrainConfig(steps=1, train_sam2=True))
    with torch.no_grad():
        together, parts = trainer.losses(batch)
        alone = [trainer.losses(s)[0] for s in batch]
    assert float(together) == pytest.approx(float(torch.stack(alone).mean()), rel=1e-4)
    assert parts.dice > 0 and parts.task == "caption+refer+region+yes_no"


def test_rows_over_one_frame_share_a_sam2_pass_and_weigh_as_apart(tiny_checkpoints):
    """A frame asked for each of its objects: one SAM-2 encoding for the group, the same losses as the rows
    one by one, and a different target per row (what makes the `[SEG]` prompt name an object)."""
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    source = ReferImageGroups(seed=3, per_image=3)
    group = [source(i) for i in range(3)]
    assert all(s.frames is group[0].frames and s.key_frames == [0] for s in group)
    assert len({s.question for s in group}) >= 2 and not np.array_equal(group[0].masks[0], group[1].masks[0])
    trainer = Trainer(engine, TrainConfig(steps=1, train_sam2=True))
    calls = []
    hook = engine.model.sam2.image_encoder.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        together, parts = trainer.losses(group)
        shared_encodings = len(calls)
        alone = [trainer.losses(s)[0] for s in group]
    hook.remove()
    assert shared_encodings == 1
    assert float(together) == pytest.approx(float(torch.stack(alone).mean()), rel=1e-4)
    assert parts.task == "refer_image"


def write_labels(tmp_path, video, n_frames=6):
    """A labelled clip: a fixed rectangle as 'the dog' on 1-2.5 s of a shared video at 4 fps (decoded at 128 px)."""
    mask = np.zeros((72, 128), bool)
    mask[20:50, 30:80] = True
    track = [{"time_s": round(1 + i / 4, 3), "rle": Rle.encode(mask).model_dump()} for i in range(n_frames)]
    lines = [
        {"video": str(video), "start_s": 1.0, "end_s": 2.5, "fps": 4, "question": "Please segment the dog.",
         "answer": "Sure, [SEG].", "masks": [track]},
        {"video": str(video), "start_s": 1.0, "end_s": 2.0, "fps": 4, "question": "What animal is this?",
         "answer": "A dog."},
    ]
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_labelled_data_reads_frames_and_masks(tmp_path, shared_videos):
    samples = list(read_labelled(write_labels(tmp_path, shared_videos / "01_dog.mp4"), max_side=128))
    refer, chat = samples
    assert len(refer.frames) == 6 and refer.frames[0].shape == (72, 128, 3)
    assert refer.masks[0].shape == (6, 72, 128) and refer.masks[0][:, 20:50, 30:80].all()
    assert chat.masks == [] and len(chat.frames) == 4


@pytest.mark.parametrize("line, message", [
    ("{not json", "labels.jsonl:1: "),
    (json.dumps({"image": "x.png", "question": "q", "answer": "Sure, [SEG]."}), "the answer has 1 [SEG] but 0 mask tracks"),
    (json.dumps({"question": "q", "answer": "a"}), "give exactly one of 'video' or 'image'"),
])
def test_bad_labels_are_one_line_errors(tmp_path, line, message):
    path = tmp_path / "labels.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(LabelledDataError, match=None) as info:
        list(read_labelled(path))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_cli_lora_finetune_saves_a_loadable_merged_checkpoint(tmp_path, shared_videos, tiny_checkpoints):
    source = tiny_checkpoints("qwen3_vl")
    labels = write_labels(tmp_path, shared_videos / "01_dog.mp4")
    out = tmp_path / "tuned"
    result = run_sva("finetune", str(labels), "--out", str(out), "--model", str(source), "--steps", "4",
                     "--lr", "1e-2", "--lora-rank", "4", "--max-side", "128")
    assert result.returncode == 0, result.stderr
    before, after = Sa2VA.from_pretrained(source), Sa2VA.from_pretrained(out)  # strict: no stray LoRA keys
    old, new = before.model.state_dict(), after.model.state_dict()
    assert old.keys() == new.keys()
    sam = [k for k in old if k.startswith("grounding_encoder.")]
    assert sam and all(torch.equal(old[k], new[k]) for k in sam), "SAM-2 stays frozen"
    changed = [k for k in old if "q_proj" in k and not torch.equal(old[k], new[k])]
    assert changed, "LoRA updates were merged into the LLM's projections"
    vision = [k for k in old if ".visual." in k]
    assert vision and all(torch.equal(old[k], new[k]) for k in vision), "LoRA touches only the LLM"


def test_memory_parts_alone_train_and_nothing_else_moves(tiny_checkpoints):
    """With the LLM frozen and SAM-2 limited to its memory parts, a clip with carried frames moves exactly
    those parts; the LLM, text_hidden_fcs and the decoder keep their weights. A later stage that trains the
    LLM again gets it back (the flags are set per stage, not inherited)."""
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    source = SampleSource(seed=5, frames=(8, 8))
    sample = source(next(i for i in range(200) if source(i).task == "refer"))
    assert len(sample.key_frames) < len(sample.frames)  # some frames come from memory
    def weights():
        named = [("llm", engine.model.mllm), ("fcs", engine.model.text_hidden_fcs)]
        named += [(f"sam2.{name}", part) for name, part in engine.model.sam2.named_children()]
        flat = {f"{prefix}/{k}": v.detach().clone() for prefix, part in named for k, v in part.state_dict().items()}
        flat |= {f"sam2.{k}/": v.detach().clone() for k, v in engine.model.sam2.named_parameters(recurse=False)}
        return flat

    before = weights()
    config = TrainConfig(steps=2, lr=1e-3, warmup_steps=0, train_sam2=True, sam2_parts=list(MEMORY_PARTS),
                         train_llm=False)
    train(engine, lambda step: sample, config, log=None)
    after = weights()
    moved = {k.split("/")[0] for k in before if not torch.equal(before[k], after[k])}
    assert moved and moved <= {f"sam2.{part}" for part in MEMORY_PARTS}, moved
    assert "sam2.memory_attention" in moved and "sam2.memory_encoder" in moved
    fcs = engine.model.text_hidden_fcs[0].weight.detach().clone()
    train(engine, lambda step: sample, TrainConfig(steps=1, lr=1e-3, warmup_steps=0), log=None)
    assert not torch.equal(fcs, engine.model.text_hidden_fcs[0].weight)


def test_a_config_that_trains_nothing_is_an_error(tiny_checkpoints):
    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    with pytest.raises(ValueError, match="nothing to train"):
        Trainer(engine, TrainConfig(train_llm=False, train_sam2=False))
