"""A random-weight Sa2VA-Qwen3-VL-4B checkpoint at the real configuration size, for GPU timings.

No real weights are reachable, but time and memory depend on shapes, not values. This writes the
official on-disk layout with the published Qwen3-VL-4B shapes (36-layer 2560-wide LLM, 24-layer
1024-wide vision tower with deepstack, 151936-token vocabulary, tied embeddings) and no ``sam2_config``,
so the loader builds the official SAM-2 hiera-L at 1024 px exactly as for a user's checkpoint. The
tokenizer is the test factory's small BPE (token ids only need to exist), and the processor keeps
Qwen3-VL's published pixel budget, so a 1280x720 frame becomes the same number of LLM tokens as with
the real model. Weights are drawn on the target device (a 4B model initialises in seconds on a GPU).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from sa2va_engine import checkpoint, families
from sa2va_engine.model import Sa2VAModel
from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.testing.tiny_checkpoint import _qwen_config, _qwen_processor
from sa2va_engine.testing.tiny_parts import qwen_tokenizer

# Published Qwen3-VL-4B shapes (the LLM and vision tower of ByteDance/Sa2VA-Qwen3-VL-4B).
QWEN3_VL_4B_TEXT = dict(
    hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
    head_dim=128, vocab_size=151936, max_position_embeddings=262144, rms_norm_eps=1e-6, rope_theta=5000000.0,
    tie_word_embeddings=True, hidden_act="silu",
    rope_scaling={"rope_type": "default", "mrope_section": [24, 20, 20], "mrope_interleaved": True},
)
QWEN3_VL_4B_VISION = dict(
    depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16, out_hidden_size=2560, patch_size=16,
    spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=2304, deepstack_visual_indexes=[5, 11, 17],
    hidden_act="gelu_pytorch_tanh",
)
# Qwen3-VL's image processor budget in merged 32x32-px tokens (min 65536 px, max 16777216 px): a
# 1280x720 frame keeps its size, rounded to whole tokens: 40 x 22 = 880 tokens.
QWEN3_VL_TOKENS = (65536 // 1024, 16777216 // 1024)


def write_real_size_checkpoint(directory: str | Path, device: str = "cuda", llm_layers: int | None = None,
                               seed: int = 0) -> Path:
    """Write the checkpoint; ``llm_layers`` cuts the LLM's depth (for a quick check of this code path
    on a CPU, never for reported figures)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = qwen_tokenizer()
    processor = _qwen_processor("qwen3_vl", tokenizer, QWEN3_VL_TOKENS)
    raw = _qwen_config("qwen3_vl", tokenizer, 64, 2)
    text = dict(raw["text_config"], **QWEN3_VL_4B_TEXT)
    if llm_layers is not None:
        text["num_hidden_layers"] = llm_layers
    raw.update(text_config=text, vision_config=dict(raw["vision_config"], **QWEN3_VL_4B_VISION), tie_word_embeddings=True)
    family = families.detect_family(raw, directory)
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = Sa2VAModel(family.build(family.make_config(raw)), text["hidden_size"], Sam2Config())
    finally:
        torch.set_default_dtype(previous)
    (directory / "config.json").write_text(json.dumps(raw, indent=2))
    checkpoint.save_weights(model, directory, family, dtype=torch.bfloat16)
    processor.save_pretrained(str(directory))
    return directory


def parameter_count(directory: Path) -> int:
    import math

    from safetensors import safe_open

    total = 0
    for file in checkpoint.shard_files(directory):
        with safe_open(str(file), framework="pt") as shard:
            total += sum(math.prod(shard.get_slice(key).get_shape()) for key in shard.keys())
    return total
