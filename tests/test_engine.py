"""The native Sa2VA engine on tiny checkpoints written in the official layout (Qwen3-VL and Qwen2.5-VL)."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from sa2va_engine import prompts
from sa2va_engine.errors import CheckpointError, InputError, UnsupportedModelError
from sa2va_engine.llm_runner import _forced_unshared, forced_seg_states
from sa2va_engine.sa2va import Sa2VA, _llm_images
from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.sam2_model import LanguageSAM2
from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint
from tests.frames import read_frames

QWEN_FAMILIES = ["qwen3_vl", "qwen2_5_vl"]
FAMILIES = [*QWEN_FAMILIES, "internvl"]


@pytest.fixture(scope="module")
def dog_frames(shared_videos):
    return read_frames(shared_videos / "01_dog.mp4", count=6, step=4)


@pytest.fixture(scope="module", params=FAMILIES)
def engine(request, tiny_checkpoints):
    return Sa2VA.from_pretrained(tiny_checkpoints(request.param), device="cpu")


# -- the official on-disk layout ---------------------------------------------------------------
@pytest.mark.parametrize("family", QWEN_FAMILIES)
def test_checkpoint_is_in_the_official_layout(tiny_checkpoints, family):
    directory = tiny_checkpoints(family)
    config = json.loads((directory / "config.json").read_text())
    assert config["model_type"] == "sa2va_chat"
    assert config["architectures"] == ["Sa2VAChatModelQwen"]
    assert {"text_config", "vision_config", "template"} <= set(config)
    with safe_open(str(directory / "model.safetensors"), "pt") as shard:
        keys = set(shard.keys())
    assert "model.model.language_model.layers.0.self_attn.q_proj.weight" in keys
    assert "model.model.visual.blocks.0.attn.qkv.weight" in keys
    assert "model.lm_head.weight" in keys
    assert "grounding_encoder.sam2_model.memory_encoder.fuser.layers.0.g_weight" in keys  # Sa2VA's rename of gamma
    assert "grounding_encoder.sam2_model.image_encoder.trunk.patch_embed.proj.weight" in keys
    assert {"text_hidden_fcs.0.weight", "text_hidden_fcs.2.weight", "text_hidden_fcs.2.bias"} <= keys
    with safe_open(str(directory / "model.safetensors"), "pt") as shard:
        assert tuple(shard.get_tensor("text_hidden_fcs.2.weight").shape) == (256, 64)
    for name in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "chat_template.jinja"):
        assert (directory / name).is_file(), name


def test_default_sam2_is_the_official_hiera_large():
    sam = LanguageSAM2(Sam2Config())
    params = sum(p.numel() for p in sam.parameters())
    assert abs(params / 1e6 - 224.4) < 0.1  # SAM-2 hiera-L (v1), as the reference builds it
    assert sam.image_size == 1024 and sam.num_maskmem == 7


# -- the inference API ---------------------------------------------------------------------
def test_chat_answers_text_about_image_frames_and_text_only(engine, dog_frames):
    on_image = engine.chat(dog_frames[0], "What is the dog doing?", max_new_tokens=6)
    on_frames = engine.chat(dog_frames[:3], "What happens?", max_new_tokens=6)
    text_only = engine.chat(None, "Hello", max_new_tokens=6)
    with_history = engine.chat(dog_frames[0], "And now?", history=[("What is it?", "A dog.")], max_new_tokens=6)
    answers = (on_image, on_frames, text_only, with_history)
    assert all(isinstance(a.text, str) for a in answers)
    # The tiny random InternVL model ends some answers at once (end-of-turn first); the Qwen ones never do.
    assert all(a.text for a in answers) if engine.family.name != "internvl" else any(a.text for a in answers)


def test_segment_masks_are_at_original_resolution(engine, dog_frames):
    image = dog_frames[0]
    result = engine.segment(image, "the dog")
    assert result.masks.shape == (1, *image.shape[:2]) and result.masks.dtype == bool
    assert result.answer == prompts.FORCED_ANSWER
    frames = engine.segment(dog_frames, "the dog")
    assert frames.masks.shape == (len(dog_frames), *image.shape[:2])
    assert frames.scores.shape == (len(dog_frames),) and np.all((frames.scores >= 0) & (frames.scores <= 1))


def test_segment_generated_and_forced_share_shapes(engine, dog_frames):
    generated = engine.segment(dog_frames[0], "the dog", mode="generate")
    assert generated.masks.shape == (1, *dog_frames[0].shape[:2])
    with pytest.raises(InputError):
        engine.segment(dog_frames[0], "the dog", mode="guess")


@pytest.mark.parametrize("n_frames", [1, 2])  # one image (InternVL tiles it) and a clip
def test_forced_seg_prefix_cache_equals_separate_passes(engine, dog_frames, n_frames):
    images = _llm_images(dog_frames[:n_frames])
    questions = [prompts.referring_prompt(e) for e in ("the dog", "the person in a red jacket", "grass")]
    shared = forced_seg_states(engine.model.mllm, engine.family, engine.processor, images, questions,
                               prompts.FORCED_ANSWER, seg_id=engine.seg_id)
    with torch.inference_mode():
        separate = _forced_unshared(engine.model.mllm, engine.family, engine.processor, images, questions,
                                    prompts.FORCED_ANSWER, engine.seg_id, "cpu", torch.float32)
    assert shared.shape == (3, engine.model.text_hidden_fcs[0].in_features)
    assert torch.allclose(shared, separate, atol=1e-4)
    assert not torch.allclose(shared[0], shared[1])  # different expressions give different prompts


def test_yes_probabilities_of_several_clips_in_one_pass_equal_one_at_a_time(engine, dog_frames):
    """Clips of different lengths (so prompts of different lengths, left-padded) batched for one question give
    each clip's own P(yes); families that cannot batch loop and give the same by construction."""
    clips = [dog_frames[:3], dog_frames[:1], dog_frames[1:3]]
    question = "In this video, does the following happen: the dog jumps?"
    alone = [engine.yes_probability(clip, question) for clip in clips]
    together = engine.yes_probabilities(clips, question)
    assert np.allclose(together, alone, atol=1e-4), (together, alone)
    assert len(set(np.round(alone, 6))) > 1, "the clips differ, so their answers should too"


def test_captions_of_several_clips_in_one_generation_equal_one_at_a_time(engine, dog_frames):
    """Batched greedy generation (left-padded prompts of different lengths) gives each clip the very answer, the
    [SEG] count, the grounded phrases and the token count that generating it alone gives."""
    clips = [dog_frames[:3], dog_frames[:1], dog_frames[1:3]]
    before = engine.generated_tokens
    alone = [engine.chat(clip, "Describe the video.", max_new_tokens=16) for clip in clips]
    alone_tokens = engine.generated_tokens - before
    together = engine.chat_batch(clips, "Describe the video.", max_new_tokens=16)
    assert together == alone and engine.generated_tokens - before == 2 * alone_tokens
    grounded_alone = [engine.ground_caption(clip, max_new_tokens=16, with_masks=False) for clip in clips]
    grounded = engine.ground_caption_batch(clips, max_new_tokens=16)
    assert [(g.raw, [p.phrase for p in g.phrases]) for g in grounded] == \
        [(g.raw, [p.phrase for p in g.phrases]) for g in grounded_alone]


def test_ground_caption_and_region_caption(engine, dog_frames):
    caption = engine.ground_caption(dog_frames[0], max_new_tokens=12)
    assert isinstance(caption.raw, str) and "[SEG]" not in caption.text
    for phrase in caption.phrases:
        assert phrase.masks.shape[1:] == dog_frames[0].shape[:2]
    text = engine.region_caption(dog_frames[0], (100, 100, 400, 300), max_new_tokens=6)
    assert isinstance(text, str)
    mask = np.zeros(dog_frames[0].shape[:2], bool)
    mask[50:80, 60:90] = True
    assert isinstance(engine.region_caption(dog_frames[0], mask, max_new_tokens=4), str)
    with pytest.raises(InputError, match="not inside"):
        engine.region_caption(dog_frames[0], (0, 0, 5000, 10))


def test_track_gives_one_masklet_per_expression_with_times(engine, dog_frames):
    times = [0.5 * i for i in range(len(dog_frames))]
    masklets = engine.track(dog_frames, ["the dog", "the grass", "the person"], frame_times=times)
    assert [m.expression for m in masklets] == ["the dog", "the grass", "the person"]
    h, w = dog_frames[0].shape[:2]
    for masklet in masklets:
        assert [p.time_s for p in masklet.points] == times
        for point in masklet.points:
            assert 0.0 <= point.score <= 1.0
            if point.present:
                assert point.mask.size == (h, w) and point.area == point.mask.area() > 0
                x0, y0, x1, y1 = point.box
                assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            else:
                assert point.box is None and point.mask is None


def test_sam2_image_encoder_runs_once_per_frame_for_all_expressions(engine, dog_frames):
    sam = engine.model.sam2
    calls = []
    hook = sam.image_encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        engine.track(dog_frames, [f"object {i}" for i in range(8)])
    finally:
        hook.remove()
    assert len(calls) == len(dog_frames)


def test_track_streams_with_bounded_memory(engine):
    """A generator of 60 frames is consumed lazily and SAM-2 keeps a bounded memory."""
    consumed = []

    def frames():
        rng = np.random.RandomState(1)
        for i in range(60):
            consumed.append(i)
            yield (rng.rand(48, 64, 3) * 255).astype(np.uint8)

    masklets = engine.track(frames(), ["a thing"], key_frames=[0, 2])
    assert len(masklets[0].points) == 60 and len(consumed) == 60
    tracker = engine.last_tracker
    assert tracker.encoder_calls == 60
    assert tracker.held_frames() <= 2 + tracker._keep + 1


def test_prompting_every_frame_reads_each_frame_alone(engine, dog_frames):
    """Every frame prompted (not the reference's video inference, which is the default mode: key frames
    prompted, the rest carried by SAM-2's memory): the [SEG] prompts go to every frame and SAM-2 keeps no memory, so
    a frame's result depends on that frame alone: frame 3 swapped for a copy of frame 5 gives frame 5's
    result, and every other frame's result is unchanged."""
    expressions, keys = ["the dog", "the grass"], [0, 1]
    a = engine.track(dog_frames, expressions, key_frames=keys, prompt_every_frame=True)
    assert engine.last_tracker.held_frames() == 0
    swapped = dog_frames[:3] + [dog_frames[5]] + dog_frames[4:]
    b = engine.track(swapped, expressions, key_frames=keys, prompt_every_frame=True)

    def seen(point):
        return point.present, pytest.approx(point.score, abs=1e-6), point.box

    for ma, mb in zip(a, b):
        assert [seen(p) for i, p in enumerate(ma.points) if i != 3] == [seen(p) for i, p in enumerate(mb.points) if i != 3]
        assert seen(mb.points[3]) == seen(ma.points[5])
    assert len({round(p.score, 6) for p in a[0].points}) > 1  # the frames do differ


def test_frames_before_the_first_key_frame_are_not_tracked(engine, dog_frames):
    masklet = engine.track(dog_frames, ["the dog"], key_frames=[2])[0]
    assert not masklet.points[0].present and not masklet.points[1].present
    assert masklet.points[0].score == 0.0


def test_bad_inputs_raise_typed_errors(engine):
    with pytest.raises(InputError):
        engine.segment(np.zeros((10, 10), np.uint8), "x")
    with pytest.raises(InputError):
        engine.track([], ["x"])
    with pytest.raises(InputError):
        engine.track([np.zeros((8, 8, 3), np.uint8)], [])


# -- loading: round trip, determinism, errors ---------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_save_load_round_trip_gives_identical_outputs(tiny_checkpoints, tmp_path, dog_frames, family):
    first = Sa2VA.from_pretrained(tiny_checkpoints(family))
    saved = first.save_pretrained(tmp_path / "copy")
    second = Sa2VA.from_pretrained(saved)
    for (k1, v1), (k2, v2) in zip(first.model.state_dict().items(), second.model.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    a = first.segment(dog_frames[:2], "the dog")
    b = second.segment(dog_frames[:2], "the dog")
    assert np.array_equal(a.masks, b.masks) and np.allclose(a.scores, b.scores)
    assert first.chat(dog_frames[0], "What?", max_new_tokens=5).text == second.chat(dog_frames[0], "What?", max_new_tokens=5).text


def test_same_seed_same_checkpoint_different_seed_different(tmp_path):
    def digest(seed, name):
        d = write_tiny_checkpoint(tmp_path / name, "qwen3_vl", seed=seed)
        return hashlib.sha256((d / "model.safetensors").read_bytes()).hexdigest()

    assert digest(3, "a") == digest(3, "b")
    assert digest(3, "a") != digest(4, "c")


def test_inference_is_deterministic(tiny_checkpoints, dog_frames):
    a = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl")).track(dog_frames[:3], ["the dog"])
    b = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl")).track(dog_frames[:3], ["the dog"])
    assert a == b


def test_tied_embeddings_checkpoint_loads_with_one_shared_matrix(tmp_path, dog_frames):
    # Qwen3-VL-4B ties its output layer to the input embeddings and stores the matrix once.
    directory = write_tiny_checkpoint(tmp_path / "tied", "qwen3_vl", seed=1, tie_embeddings=True)
    with safe_open(str(directory / "model.safetensors"), framework="pt") as shard:
        keys = set(shard.keys())
        stored = shard.get_tensor("model.model.language_model.embed_tokens.weight")
    assert "model.lm_head.weight" not in keys
    engine = Sa2VA.from_pretrained(directory)
    mllm = engine.model.mllm
    assert mllm.lm_head.weight.data_ptr() == mllm.model.language_model.embed_tokens.weight.data_ptr()
    assert torch.equal(mllm.lm_head.weight, stored)
    assert engine.chat(dog_frames[0], "What?", max_new_tokens=3).text == \
        Sa2VA.from_pretrained(engine.save_pretrained(tmp_path / "again")).chat(dog_frames[0], "What?", max_new_tokens=3).text
    # Saving copies tensors (to bfloat16 here, to the host from a GPU): the tie is still seen.
    converted = engine.save_pretrained(tmp_path / "bf16", dtype=torch.bfloat16)
    with safe_open(str(converted / "model.safetensors"), framework="pt") as shard:
        assert "model.lm_head.weight" not in set(shard.keys())


def test_old_transformers_key_layout_loads_the_same_weights(tiny_checkpoints, checkpoint_copy, dog_frames):
    src = tiny_checkpoints("qwen2_5_vl")
    dst = checkpoint_copy(src, "old_layout")
    tensors = load_file(str(dst / "model.safetensors"))
    renamed = {}
    for key, value in tensors.items():
        key = key.replace("model.model.visual.", "model.visual.").replace("model.model.language_model.", "model.model.")
        renamed[key] = value
    assert any(k.startswith("model.visual.") for k in renamed)
    save_file(renamed, str(dst / "model.safetensors"), metadata={"format": "pt"})
    a = Sa2VA.from_pretrained(src).segment(dog_frames[0], "the dog")
    b = Sa2VA.from_pretrained(dst).segment(dog_frames[0], "the dog")
    assert np.array_equal(a.masks, b.masks)


def test_missing_key_is_named(tiny_checkpoints, checkpoint_copy):
    dst = checkpoint_copy(tiny_checkpoints("qwen3_vl"))
    tensors = load_file(str(dst / "model.safetensors"))
    del tensors["text_hidden_fcs.2.weight"]
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"missing.*text_hidden_fcs\.2\.weight"):
        Sa2VA.from_pretrained(dst)


def test_unexpected_key_is_named(tiny_checkpoints, checkpoint_copy):
    dst = checkpoint_copy(tiny_checkpoints("qwen3_vl"))
    tensors = load_file(str(dst / "model.safetensors"))
    tensors["grounding_encoder.sam2_model.extra_head.weight"] = torch.zeros(2)
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"unexpected.*extra_head"):
        Sa2VA.from_pretrained(dst)


def test_wrong_shape_names_file_and_key(tiny_checkpoints, checkpoint_copy):
    dst = checkpoint_copy(tiny_checkpoints("qwen3_vl"))
    tensors = load_file(str(dst / "model.safetensors"))
    tensors["text_hidden_fcs.0.weight"] = torch.zeros(3, 3)
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"model\.safetensors: text_hidden_fcs\.0\.weight has shape \(3, 3\)"):
        Sa2VA.from_pretrained(dst)


def test_truncated_shard_names_the_file(tiny_checkpoints, checkpoint_copy):
    dst = checkpoint_copy(tiny_checkpoints("qwen3_vl"))
    data = (dst / "model.safetensors").read_bytes()
    (dst / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*truncated"):
        Sa2VA.from_pretrained(dst)


def test_sharded_checkpoint_loads_and_missing_shard_is_named(tiny_checkpoints, tmp_path, dog_frames):
    from sa2va_engine import checkpoint

    engine = Sa2VA.from_pretrained(tiny_checkpoints("qwen3_vl"))
    dst = tmp_path / "sharded"
    dst.mkdir()
    shutil.copy(tiny_checkpoints("qwen3_vl") / "config.json", dst)
    engine.processor.save_pretrained(str(dst))
    checkpoint.save_weights(engine.model, dst, engine.family, max_shard_bytes=2 * 1024**2)
    shards = sorted(dst.glob("model-*.safetensors"))
    assert len(shards) > 1 and (dst / "model.safetensors.index.json").is_file()
    again = Sa2VA.from_pretrained(dst)
    assert np.array_equal(again.segment(dog_frames[0], "x").masks, engine.segment(dog_frames[0], "x").masks)
    shards[-1].unlink()
    with pytest.raises(CheckpointError, match=shards[-1].name):
        Sa2VA.from_pretrained(dst)


def test_unsupported_family_lists_supported_models(tiny_checkpoints, checkpoint_copy):
    dst = checkpoint_copy(tiny_checkpoints("qwen3_vl"))
    config = {"model_type": "sa2va_chat", "architectures": ["Sa2VAChatModel"],
              "llm_config": {"architectures": ["InternLM2ForCausalLM"]}, "vision_config": {}}
    (dst / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModelError, match=r"InternLM2ForCausalLM.*not supported.*Sa2VA-Qwen3-VL-4B"):
        Sa2VA.from_pretrained(dst)


def test_missing_directory_and_config_and_offline_hub_id(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint directory"):
        Sa2VA.from_pretrained(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json: missing"):
        Sa2VA.from_pretrained(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="ByteDance/Sa2VA-Qwen3-VL-4B: not a local directory"):
        Sa2VA.from_pretrained("ByteDance/Sa2VA-Qwen3-VL-4B")


def test_a_failed_hub_download_says_the_whole_reason_and_the_ways_forward(monkeypatch):
    import huggingface_hub

    long_reason = ("Cannot find the requested files in the disk cache and outgoing traffic has been disabled. "
                   "To enable hf.co look-ups and downloads online, set 'local_files_only' to False.\nmore")

    def offline(**kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError(long_reason)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(CheckpointError) as info:
        Sa2VA.from_pretrained("ByteDance/Sa2VA-Qwen3-VL-4B")
    message = str(info.value)
    assert "\n" not in message and "set 'local_files_only' to False. more" in message, "the reason, not cut"
    for way in ("HF_HOME", "HF_HUB_OFFLINE", "--model DIR", "--model demo"):
        assert way in message


def test_errors_are_one_line(tmp_path):
    with pytest.raises(CheckpointError) as info:
        Sa2VA.from_pretrained(tmp_path / "nope")
    assert "\n" not in str(info.value)
