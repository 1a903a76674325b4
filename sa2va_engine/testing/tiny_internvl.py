"""A tiny random Sa2VA-InternVL checkpoint in the official layout (see `sa2va_engine.testing.tiny_checkpoint`).

config.json has the shape of ByteDance's Sa2VA-1B/4B/InternVL3 (``vision_config`` as InternVisionConfig,
``llm_config`` as Qwen2Config, ``template``, ``downsample_ratio``, ``ps_version``...), including the switches
the reference sets (``use_flash_attn``, ``attn_implementation``, ``torch_dtype``) that this engine must ignore.
The weights are written through the family's inverse map, so they carry the original InternVL names
(``vision_model.encoder.layers.N.attn.qkv``, ``mlp1.0``, ``language_model.model...``) and loading them
exercises the real mapping.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from sa2va_engine import checkpoint, families
from sa2va_engine.family_internvl import INTERNVL_SPECIAL_TOKENS, InternVlProcessor
from sa2va_engine.input_handling import CONFIG_KEY
from sa2va_engine.testing.tiny_parts import TINY_SAM2, mark_objects_present, qwen_tokenizer
from sa2va_engine.model import Sa2VAModel
from sa2va_engine.sam2_config import Sam2Config

TILE = 56  # 4 x 4 patches of 14 px -> 4 LLM tokens per tile after the pixel shuffle
VISION_HIDDEN = 32


def internvl_tokenizer():
    """The tiny Qwen2 tokenizer with InternVL's added tokens (Sa2VA's five are already in it)."""
    tok = qwen_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": list(tok.additional_special_tokens) + list(INTERNVL_SPECIAL_TOKENS)})
    tok.chat_template = None  # the InternVL prompt comes from Sa2VA's template, not a jinja one
    return tok


def internvl_config(tokenizer, hidden: int = 64, layers: int = 2) -> dict:
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")}
    vision = {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b", "auto_map": {
            "AutoConfig": "configuration_intern_vit.InternVisionConfig", "AutoModel": "modeling_intern_vit.InternVisionModel"},
        "hidden_size": VISION_HIDDEN, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "image_size": TILE, "patch_size": 14, "num_channels": 3, "qkv_bias": True, "qk_normalization": False,
        "norm_type": "layer_norm", "layer_norm_eps": 1e-6, "hidden_act": "gelu", "dropout": 0.0, "drop_path_rate": 0.0,
        "attention_dropout": 0.0, "initializer_factor": 0.1, "initializer_range": 1e-10, "use_flash_attn": True,
        "torch_dtype": "bfloat16",
    }
    llm = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "_name_or_path": "./pretrained/Qwen2.5-tiny",
        "hidden_size": hidden, "intermediate_size": hidden * 2, "num_hidden_layers": layers, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": len(tokenizer), "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "rope_scaling": None, "hidden_act": "silu", "tie_word_embeddings": False,
        "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": layers, "use_cache": True,
        "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"], "attn_implementation": "flash_attention_2",
        "torch_dtype": "bfloat16",
    }
    return {
        "architectures": ["Sa2VAChatModel"],
        "auto_map": {"AutoConfig": "configuration_sa2va_chat.Sa2VAChatConfig",
                     "AutoModel": "modeling_sa2va_chat.Sa2VAChatModel",
                     "AutoModelForCausalLM": "modeling_sa2va_chat.Sa2VAChatModel"},
        "model_type": "sa2va_chat",
        "vision_config": vision,
        "llm_config": llm,
        "template": "qwen_chat",
        "select_layer": -1,
        "force_image_size": TILE,
        "downsample_ratio": 0.5,
        "ps_version": "v2",
        "dynamic_image_size": True,
        "use_thumbnail": True,
        "min_dynamic_patch": 1,
        "max_dynamic_patch": 12,
        "pad2square": False,
        "use_backbone_lora": 0,
        "use_llm_lora": 0,
        "hidden_size": hidden,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }


def write_tiny_internvl(directory: str | Path, seed: int = 0, sam2: Sam2Config | None = None,
                        hidden_size: int = 64, layers: int = 2, objects_present: bool = False,
                        handling: str | None = "direct") -> Path:
    sam2 = sam2 or TINY_SAM2
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = internvl_tokenizer()
    raw = internvl_config(tokenizer, hidden_size, layers)
    raw["sam2_config"] = json.loads(sam2.model_dump_json())
    if handling is not None:
        raw[CONFIG_KEY] = handling  # see write_tiny_checkpoint

    family = families.detect_family(raw, directory)
    config = family.make_config(raw)
    family.complete_config(config, InternVlProcessor(tokenizer, image_size=TILE))
    torch.manual_seed(seed)
    model = Sa2VAModel(family.build(config), hidden_size, sam2)
    # transformers initialises cls/position embeddings to 0 and every layer scale to the same value;
    # jitter all VLM weights so that a swapped or misplaced tensor changes the outputs.
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for param in model.mllm.parameters():
            param.add_(torch.randn(param.shape, generator=generator) * 0.05)
    if objects_present:
        mark_objects_present(model)
    (directory / "config.json").write_text(json.dumps(raw, indent=2))
    checkpoint.save_weights(model, directory, family)
    tokenizer.save_pretrained(str(directory))
    return directory
