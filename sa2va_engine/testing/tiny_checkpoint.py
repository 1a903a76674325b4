"""Tiny random Sa2VA checkpoints in the official on-disk layout, for tests and benchmarks.

No model hub is reachable where this project is tested, so the loader is exercised on checkpoints
this factory writes: same file names, same config.json shape (plus a ``sam2_config`` that shrinks
SAM-2), same weight keys, a real tokenizer with the family's special tokens and Sa2VA's five added
tokens, and a real processor. `Sa2VA.from_pretrained` reads them exactly as it reads a user's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from sa2va_engine import checkpoint, families
from sa2va_engine.input_handling import CONFIG_KEY
from sa2va_engine.model import Sa2VAModel
from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.testing.tiny_parts import (QWEN_CHAT_TEMPLATE, QWEN_SPECIAL, TINY_SAM2, mark_objects_present,
                                             qwen_tokenizer)

FAMILIES = ("qwen3_vl", "qwen2_5_vl", "internvl")


def write_tiny_checkpoint(directory: str | Path, family: str = "qwen3_vl", seed: int = 0,
                          sam2: Sam2Config = TINY_SAM2, hidden_size: int = 64, layers: int = 2,
                          image_tokens: tuple[int, int] = (4, 16), objects_present: bool = False,
                          corpus: Sequence[str] | None = None, vocab_size: int = 600,
                          vision_width: int = 32, vision_depth: int = 2, tie_embeddings: bool = False,
                          handling: str | None = "direct") -> Path:
    """Write a seeded random Sa2VA checkpoint of ``family`` into ``directory`` and return it.

    ``image_tokens`` bounds how many LLM tokens one image becomes (min, max). ``objects_present`` makes
    SAM-2's object-score head say "present" on every frame: random weights otherwise score objects
    absent, which leaves pipeline tests (tracks, links, overlays) with nothing to store. ``corpus`` (and
    ``vocab_size``) train the byte-level BPE tokenizer on other text, e.g. the synthetic world's language.
    ``vision_width``/``vision_depth`` size the Qwen vision tower. ``tie_embeddings`` shares the LLM's
    input and output embeddings (stored once, as Qwen3-VL-4B does). ``handling`` is the input handling written
    to config.json (sa2va_engine/input_handling.py): "direct", this project's own, which the shipped demo model
    was trained with and tiny images keep tiny; None writes none, so the checkpoint is handled as an official one
    (the reference's sizing: every image at least 512 LLM tokens)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; one of {FAMILIES}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if family == "internvl":
        from sa2va_engine.testing.tiny_internvl import write_tiny_internvl

        return write_tiny_internvl(directory, seed=seed, sam2=sam2, hidden_size=hidden_size, layers=layers,
                                   objects_present=objects_present, handling=handling)
    tokenizer = qwen_tokenizer(corpus, vocab_size)
    processor = _qwen_processor(family, tokenizer, image_tokens)
    raw = _qwen_config(family, tokenizer, hidden_size, layers, vision_width, vision_depth)
    if tie_embeddings:
        raw["tie_word_embeddings"] = raw["text_config"]["tie_word_embeddings"] = True
    raw["sam2_config"] = json.loads(sam2.model_dump_json())
    if handling is not None:
        raw[CONFIG_KEY] = handling

    fam = families.detect_family(raw, directory)
    torch.manual_seed(seed)
    model = Sa2VAModel(fam.build(fam.make_config(raw)), hidden_size, sam2)
    if objects_present:
        mark_objects_present(model)
    (directory / "config.json").write_text(json.dumps(raw, indent=2))
    checkpoint.save_weights(model, directory, fam)
    processor.save_pretrained(str(directory))
    return directory


def _qwen_processor(family: str, tokenizer, image_tokens: tuple[int, int]):
    from transformers import Qwen2VLImageProcessorFast

    lo, hi = image_tokens
    if family == "qwen3_vl":
        from transformers import Qwen3VLProcessor
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

        px = 32  # patch 16, merged 2x2 into one LLM token
        image = Qwen2VLImageProcessorFast(patch_size=16, merge_size=2, temporal_patch_size=2,
                                          image_mean=[0.5] * 3, image_std=[0.5] * 3,
                                          size={"shortest_edge": lo * px * px, "longest_edge": hi * px * px})
        video = Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                                      size={"shortest_edge": lo * px * px, "longest_edge": hi * px * px})
        return Qwen3VLProcessor(image_processor=image, tokenizer=tokenizer, video_processor=video,
                                chat_template=QWEN_CHAT_TEMPLATE)
    from transformers import Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    px = 28  # patch 14, merged 2x2
    image = Qwen2VLImageProcessorFast(patch_size=14, merge_size=2, temporal_patch_size=2,
                                      size={"shortest_edge": lo * px * px, "longest_edge": hi * px * px})
    video = Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2,
                                  size={"shortest_edge": lo * px * px, "longest_edge": hi * px * px})
    return Qwen2_5_VLProcessor(image_processor=image, tokenizer=tokenizer, video_processor=video,
                               chat_template=QWEN_CHAT_TEMPLATE)


def _qwen_config(family: str, tokenizer, hidden: int, layers: int, vision_width: int = 32, vision_depth: int = 2) -> dict:
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    heads, head_dim = 4, hidden // 4
    text = dict(hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers, num_attention_heads=heads,
                num_key_value_heads=2, head_dim=head_dim, vocab_size=len(tokenizer), max_position_embeddings=4096,
                tie_word_embeddings=False, rms_norm_eps=1e-6, rope_theta=10000.0)
    third = head_dim // 2 // 3
    section = [head_dim // 2 - 2 * third, third, third]
    if family == "qwen3_vl":
        text.update(model_type="qwen3_vl_text", rope_scaling={"rope_type": "default", "mrope_section": section,
                                                               "mrope_interleaved": True})
        vision = dict(model_type="qwen3_vl", depth=vision_depth, hidden_size=vision_width,
                      intermediate_size=2 * vision_width, num_heads=max(2, vision_width // 16),
                      out_hidden_size=hidden, patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
                      num_position_embeddings=64, deepstack_visual_indexes=[0])
        arch = "Sa2VAChatModelQwen"
    else:
        text.update(model_type="qwen2_5_vl_text", rope_scaling={"type": "mrope", "rope_type": "default", "mrope_section": section})
        vision = dict(model_type="qwen2_5_vl", depth=vision_depth, hidden_size=vision_width,
                      intermediate_size=2 * vision_width, num_heads=max(2, vision_width // 16),
                      out_hidden_size=hidden, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
                      window_size=56, fullatt_block_indexes=[1], tokens_per_second=2)
        arch = "Sa2VAChatModelQwen"
    module = "modeling_sa2va_qwen"
    return {
        "architectures": [arch],
        "auto_map": {"AutoConfig": "configuration_sa2va_chat.Sa2VAChatConfigQwen",
                     "AutoModel": f"{module}.Sa2VAChatModelQwen",
                     "AutoModelForCausalLM": f"{module}.Sa2VAChatModelQwen"},
        "model_type": "sa2va_chat",
        "text_config": text,
        "vision_config": vision,
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": False,
        "template": QWEN_CHAT_TEMPLATE,
    }
