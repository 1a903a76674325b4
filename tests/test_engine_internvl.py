"""The native Sa2VA engine on a tiny checkpoint in the official InternVL layout (Sa2VA-1B/4B/InternVL3).

The weights are stored with the original InternVL names (InternViT's fused ``attn.qkv``, ``ls1``,
``norm1``, ``mlp1.N``, ``language_model.model.*``) and run on transformers' native InternVL model; the
numerical tests re-implement InternViT and the projector from those original tensors to check the mapping.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from sa2va_engine.errors import CheckpointError, UnsupportedModelError
from sa2va_engine.family_internvl import INTERNVL_FAMILY, dynamic_tiles
from sa2va_engine.imagenet import IMAGENET_MEAN, IMAGENET_STD
from sa2va_engine.llm_runner import generate
from sa2va_engine.sa2va import Sa2VA, _llm_images
from tests.frames import read_frames

FAMILY = "internvl"


@pytest.fixture(scope="module")
def dog_frames(shared_videos):
    return read_frames(shared_videos / "01_dog.mp4", count=6, step=4)


@pytest.fixture(scope="module")
def directory(tiny_checkpoints):
    return tiny_checkpoints(FAMILY)


@pytest.fixture(scope="module")
def engine(directory):
    return Sa2VA.from_pretrained(directory, device="cpu")


@pytest.fixture(scope="module")
def original(directory):
    """The checkpoint's tensors under their original InternVL names."""
    return load_file(str(directory / "model.safetensors"))


# -- the official on-disk layout ---------------------------------------------------------------
def test_checkpoint_is_in_the_official_internvl_layout(directory, original):
    config = json.loads((directory / "config.json").read_text())
    assert config["model_type"] == "sa2va_chat" and config["architectures"] == ["Sa2VAChatModel"]
    assert config["llm_config"]["architectures"] == ["Qwen2ForCausalLM"]
    assert {"vision_config", "llm_config", "template", "downsample_ratio", "ps_version", "select_layer"} <= set(config)
    keys = set(original)
    for key in ("vision_model.embeddings.class_embedding", "vision_model.embeddings.position_embedding",
                "vision_model.embeddings.patch_embedding.weight", "vision_model.encoder.layers.0.attn.qkv.weight",
                "vision_model.encoder.layers.0.attn.qkv.bias", "vision_model.encoder.layers.1.attn.proj.weight",
                "vision_model.encoder.layers.0.ls1", "vision_model.encoder.layers.0.ls2",
                "vision_model.encoder.layers.0.norm1.weight", "vision_model.encoder.layers.0.norm2.bias",
                "vision_model.encoder.layers.0.mlp.fc1.weight", "mlp1.0.weight", "mlp1.1.weight", "mlp1.3.bias",
                "language_model.model.embed_tokens.weight", "language_model.model.layers.0.self_attn.q_proj.weight",
                "language_model.lm_head.weight", "text_hidden_fcs.2.weight",
                "grounding_encoder.sam2_model.memory_encoder.fuser.layers.0.g_weight"):
        assert key in keys, key
    assert not any(k.startswith(("model.", "mllm.")) or "q_proj" in k and k.startswith("vision") for k in keys)
    hidden = config["vision_config"]["hidden_size"]
    assert tuple(original["vision_model.encoder.layers.0.attn.qkv.weight"].shape) == (3 * hidden, hidden)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (directory / name).is_file(), name


def test_key_maps_invert_each_other(engine):
    state = {k: v for k, v in engine.model.mllm.state_dict().items()}
    merged = INTERNVL_FAMILY.merge_for_save(state)
    assert len(merged) == len(state) - 2 * engine.model.mllm.config.vision_config.num_hidden_layers * 2  # q,k,v -> qkv
    rebuilt = {}
    for key, tensor in merged.items():
        split = INTERNVL_FAMILY.split_checkpoint_key(key)
        if split:
            rebuilt.update(zip(split, INTERNVL_FAMILY.split_checkpoint_tensor(key, tensor)))
        else:
            rebuilt[INTERNVL_FAMILY.map_checkpoint_key(key)] = tensor
    assert rebuilt.keys() == state.keys()
    assert all(torch.equal(rebuilt[k], state[k]) for k in state)


# -- numerics: the native modules compute what InternViT + mlp1 compute -------------------------
def _internvit(t: dict, pixels: torch.Tensor, vision: dict) -> torch.Tensor:
    """InternViT's forward (norm_type layer_norm, no qk norm), straight from the original tensors."""
    p, dim, heads = "vision_model.", vision["hidden_size"], vision["num_attention_heads"]
    eps = vision["layer_norm_eps"]
    x = F.conv2d(pixels, t[p + "embeddings.patch_embedding.weight"], t[p + "embeddings.patch_embedding.bias"],
                 stride=vision["patch_size"])
    b, _, h, w = x.shape
    x = torch.cat([t[p + "embeddings.class_embedding"].expand(b, 1, dim), x.flatten(2).transpose(1, 2)], dim=1)
    pos = t[p + "embeddings.position_embedding"]
    grid = vision["image_size"] // vision["patch_size"]
    patch_pos = F.interpolate(pos[:, 1:].reshape(1, grid, grid, dim).permute(0, 3, 1, 2).float(), size=(h, w),
                              mode="bicubic", align_corners=False).reshape(1, dim, h * w).permute(0, 2, 1)
    x = x + torch.cat([pos[:, :1], patch_pos], dim=1)
    n = x.shape[1]
    for i in range(vision["num_hidden_layers"]):
        q = f"{p}encoder.layers.{i}."
        y = F.layer_norm(x, (dim,), t[q + "norm1.weight"], t[q + "norm1.bias"], eps)
        qkv = F.linear(y, t[q + "attn.qkv.weight"], t[q + "attn.qkv.bias"]).reshape(b, n, 3, heads, dim // heads)
        qq, kk, vv = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attn = ((qq * (dim // heads) ** -0.5) @ kk.transpose(-2, -1)).softmax(-1)
        y = F.linear((attn @ vv).transpose(1, 2).reshape(b, n, dim), t[q + "attn.proj.weight"], t[q + "attn.proj.bias"])
        x = x + y * t[q + "ls1"]
        y = F.layer_norm(x, (dim,), t[q + "norm2.weight"], t[q + "norm2.bias"], eps)
        y = F.linear(F.gelu(F.linear(y, t[q + "mlp.fc1.weight"], t[q + "mlp.fc1.bias"])), t[q + "mlp.fc2.weight"],
                     t[q + "mlp.fc2.bias"])
        x = x + y * t[q + "ls2"]
    return x


def _extract_feature(t: dict, vit: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Sa2VAChatModel.extract_feature after the ViT: drop cls, pixel shuffle (v2), mlp1."""
    vit = vit[:, 1:]
    n, side, c = vit.shape[0], int(vit.shape[1] ** 0.5), vit.shape[2]
    x = vit.reshape(n, side, side, c).view(n, side, int(side * ratio), int(c / ratio)).permute(0, 2, 1, 3)
    x = x.reshape(n, int(side * ratio), int(side * ratio), int(c / ratio**2)).permute(0, 2, 1, 3)
    x = x.reshape(n, -1, x.shape[-1])
    x = F.layer_norm(x, (x.shape[-1],), t["mlp1.0.weight"], t["mlp1.0.bias"], 1e-5)
    x = F.gelu(F.linear(x, t["mlp1.1.weight"], t["mlp1.1.bias"]))
    return F.linear(x, t["mlp1.3.weight"], t["mlp1.3.bias"])


def test_native_vision_tower_and_projector_match_internvit(engine, original, directory, dog_frames):
    vision = json.loads((directory / "config.json").read_text())["vision_config"]
    pixels = engine.family.encode(engine.processor, _llm_images(dog_frames[:1]), "x").inputs["pixel_values"]
    assert pixels.shape[0] > 1  # a wide frame is tiled (grid + thumbnail)
    core = engine.model.mllm.model
    with torch.inference_mode():
        native = core.vision_tower(pixel_values=pixels).last_hidden_state
        reference = _internvit(original, pixels, vision)
        assert native.shape == reference.shape
        assert torch.allclose(native, reference, atol=1e-4), (native - reference).abs().max()
        features = core.get_image_features(pixel_values=pixels)
        expected = _extract_feature(original, reference)
    assert features.shape == (pixels.shape[0], engine.processor.tokens_per_tile, engine.model.mllm.config.text_config.hidden_size)
    assert torch.allclose(features, expected, atol=1e-4), (features - expected).abs().max()


def test_a_swapped_qkv_part_changes_the_vision_output(engine, original, directory, dog_frames):
    """The numerical check above would catch a q/k/v mix-up: swapping q and k moves the output."""
    vision = json.loads((directory / "config.json").read_text())["vision_config"]
    pixels = engine.family.encode(engine.processor, _llm_images(dog_frames[:2]), "x").inputs["pixel_values"]
    swapped = dict(original)
    qkv = original["vision_model.encoder.layers.0.attn.qkv.weight"]
    q, k, v = qkv.chunk(3)
    swapped["vision_model.encoder.layers.0.attn.qkv.weight"] = torch.cat([k, q, v])
    with torch.inference_mode():
        assert not torch.allclose(_internvit(original, pixels, vision), _internvit(swapped, pixels, vision), atol=1e-3)


# -- preprocessing and prompts as the reference does them ----------------------------------------
def test_preprocessing_matches_the_reference_transform(engine, dog_frames):
    import torchvision.transforms as T
    from torchvision.transforms.functional import InterpolationMode

    size = engine.processor.image_size
    transform = T.Compose([T.Resize((size, size), interpolation=InterpolationMode.BICUBIC), T.ToTensor(),
                           T.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)])
    frames = _llm_images(dog_frames[:2])
    video = engine.processor(text=["<IMG_CONTEXT>\n<IMG_CONTEXT>"], images=frames)
    expected = torch.stack([transform(f) for f in frames])
    assert torch.allclose(video["pixel_values"], expected, atol=1e-5)
    single = engine.processor(text=["<IMG_CONTEXT>"], images=frames[:1])
    tiles = dynamic_tiles(frames[0], size)
    # 16:9 is as close to 4 x 2 as to 2 x 1; the reference takes the larger grid when the image has the
    # pixels for it (it does, for 448 px tiles too): 8 tiles + the thumbnail.
    assert len(tiles) == 9
    assert torch.allclose(single["pixel_values"], torch.stack([transform(t) for t in tiles]), atol=1e-5)
    n = engine.processor.tokens_per_tile
    ids = single["input_ids"][0].tolist()
    assert ids.count(engine.model.mllm.config.image_token_id) == len(tiles) * n


def test_tiling_follows_the_aspect_ratio():
    def count(w, h):
        return len(dynamic_tiles(Image.new("RGB", (w, h)), 448))

    assert count(448, 448) == 1  # one tile, no thumbnail
    assert count(896, 448) == 3  # 2 x 1 + thumbnail
    assert count(1344, 448) == 4  # 3 x 1 + thumbnail
    assert count(4000, 3000) == 13  # the 4 x 3 grid is the largest (12 tiles) + thumbnail
    assert count(1280, 720) == 9  # 16:9 ties 2 x 1 and 4 x 2; a 720p frame has the pixels for 4 x 2
    assert count(640, 360) == 3  # ... a 360p one does not


def test_prompt_text_is_the_reference_one(engine, dog_frames):
    n = engine.processor.tokens_per_tile
    prompt = engine.family.encode(engine.processor, _llm_images(dog_frames[:2]), "Please segment the dog.")
    decoded = engine.processor.tokenizer.decode(prompt.inputs["input_ids"][0])
    image = "<img>" + "<IMG_CONTEXT>" * n + "</img>"
    assert decoded == (f"<|im_start|>user\n{image}\n{image}\nPlease segment the dog.<|im_end|>\n"
                       "<|im_start|>assistant\n")
    history = engine.family.render(engine.processor, 1, "And now?", [("What is it?", "A dog.")])
    assert history == ("<|im_start|>user\n<IMG_CONTEXT>\nWhat is it?<|im_end|>\n<|im_start|>assistant\nA dog.<|im_end|>\n"
                       "<|im_start|>user\nAnd now?<|im_end|>\n<|im_start|>assistant\n")
    assert engine.family.render(engine.processor, 0, "Hello") == "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"


# -- what only InternVL does (the generic API runs on all families in test_engine.py) ---------------
def test_generation_stops_at_the_reference_stop_words(engine, dog_frames):
    stops = set(engine.model.mllm.generation_config.eos_token_id)
    tok = engine.processor.tokenizer
    assert stops == {tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")}
    for images in (_llm_images(dog_frames[:1]), _llm_images(dog_frames[:3]), []):
        out = generate(engine.model.mllm, engine.family, engine.processor, images, "What?", seg_id=engine.seg_id,
                       max_new_tokens=6)
        assert len(out.token_ids) == 6 or (out.token_ids and out.token_ids[-1] in stops)
    assert 0.0 <= engine.yes_probability(dog_frames[0], "Is there a dog?") <= 1.0


def test_save_pretrained_writes_the_original_names(engine, tmp_path):
    saved = engine.save_pretrained(tmp_path / "copy")
    with safe_open(str(saved / "model.safetensors"), "pt") as shard:
        keys = set(shard.keys())
    assert "vision_model.encoder.layers.0.attn.qkv.weight" in keys
    assert not any("vision_tower" in k or (k.startswith("vision_model.") and "_proj." in k) for k in keys)


def test_sa2va_8b_on_internlm2_is_refused_with_the_supported_list(directory, checkpoint_copy):
    dst = checkpoint_copy(directory)
    config = json.loads((dst / "config.json").read_text())
    config["llm_config"]["architectures"] = ["InternLM2ForCausalLM"]
    config["llm_config"]["model_type"] = "internlm2"
    (dst / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModelError, match=r"InternLM2ForCausalLM.*not supported.*Sa2VA-1B.*Sa2VA-InternVL3"):
        Sa2VA.from_pretrained(dst)


@pytest.mark.parametrize("change, message", [({"ps_version": "v1"}, "pixel shuffle"),
                                             ({"template": "phi3_chat"}, "template"),
                                             ({"select_layer": -2}, "select_layer")])
def test_unsupported_internvl_variants_are_refused(directory, checkpoint_copy, change, message):
    dst = checkpoint_copy(directory)
    config = json.loads((dst / "config.json").read_text())
    config.update(change)
    (dst / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModelError, match=message):
        Sa2VA.from_pretrained(dst)


def test_bad_weights_are_named(directory, checkpoint_copy):
    dst = checkpoint_copy(directory)
    tensors = load_file(str(dst / "model.safetensors"))
    tensors["vision_model.encoder.layers.0.attn.qkv.weight"] = torch.zeros(90, 32)
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"attn\.qkv\.weight.*has shape \(30, 32\)"):
        Sa2VA.from_pretrained(dst)
    tensors = load_file(str(directory / "model.safetensors"))
    del tensors["vision_model.encoder.layers.1.attn.qkv.bias"]
    tensors["vision_model.encoder.layers.0.attn.extra.weight"] = torch.zeros(2)
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"unexpected.*vision_model\.encoder\.layers\.0\.attn\.extra\.weight"):
        Sa2VA.from_pretrained(dst)
    del tensors["vision_model.encoder.layers.0.attn.extra.weight"]
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"missing.*layer\.1\.attention\.[qkv]_proj\.bias"):
        Sa2VA.from_pretrained(dst)
