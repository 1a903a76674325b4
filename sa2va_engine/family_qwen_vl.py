"""Sa2VA on Qwen-VL (Qwen3-VL and Qwen2.5-VL): the transformers model, its processor and key layout.

The checkpoint stores the whole transformers `...ForConditionalGeneration` under ``model.``. Checkpoints
saved by transformers < 4.52 use the older module tree (``visual.*``, ``model.layers.*``); both load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
)

from sa2va_engine.checkpoint import read_config
from sa2va_engine.errors import CheckpointError
from sa2va_engine.input_handling import CONFIG_KEY, handling_of
from sa2va_engine.qwen_image_sizing import ReferenceSizedProcessor
from sa2va_engine.vlm_family import VlmFamily


@dataclass(frozen=True)
class _QwenVariant:
    name: str
    config_cls: type
    model_cls: type
    processor_cls: type


QWEN3_VL = _QwenVariant("qwen3_vl", Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLProcessor)
QWEN2_5_VL = _QwenVariant("qwen2_5_vl", Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor)

_OLD_LAYOUT = (
    (re.compile(r"^visual\."), "model.visual."),
    (re.compile(r"^model\.(?!visual\.|language_model\.)"), "model.language_model."),
)


class QwenVlFamily(VlmFamily):
    checkpoint_prefix = "model."
    vision_end_token = "<|vision_end|>"

    def __init__(self, variant: _QwenVariant):
        self.variant = variant
        self.name = variant.name

    # -- building -------------------------------------------------------------------------------
    def make_config(self, raw: dict):
        fields = {k: v for k, v in raw.items() if k not in ("model_type", "architectures", "auto_map", "template", "sam2_config",
                                                        CONFIG_KEY)}
        return self.variant.config_cls(**fields)

    def build(self, config) -> torch.nn.Module:
        return self.variant.model_cls(config)

    def hidden_size(self, config) -> int:
        return config.text_config.hidden_size

    def map_checkpoint_key(self, key: str) -> str:
        for pattern, repl in _OLD_LAYOUT:
            if pattern.match(key):
                return pattern.sub(repl, key, count=1)
        return key

    def load_processor(self, directory: Path):
        """The checkpoint's processor; official checkpoints' wrapped to size images as the reference does."""
        handling = handling_of(read_config(Path(directory)))
        try:
            processor = self.variant.processor_cls.from_pretrained(str(directory))
        except Exception as exc:  # transformers raises many types for a broken processor dir
            raise CheckpointError(f"{directory}: cannot load the {self.name} processor/tokenizer ({exc})") from exc
        return ReferenceSizedProcessor(processor) if handling.llm_images == "reference" else processor

    def tokenizer(self, processor):
        return processor.tokenizer

    # -- prompts --------------------------------------------------------------------------------
    def render(self, processor, n_images: int, text: str, history: list[tuple[str, str]] | None = None) -> str:
        messages = []
        for user, assistant in history or []:
            messages.append({"role": "user", "content": [{"type": "text", "text": user}]})
            messages.append({"role": "assistant", "content": [{"type": "text", "text": assistant}]})
        content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": text}]
        messages.append({"role": "user", "content": content})
        return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def prefix_split(self, prompt_text: str) -> int | None:
        """Where the image part of a rendered prompt ends (character offset), for prefix caching."""
        end = prompt_text.rfind(self.vision_end_token)
        return None if end < 0 else end + len(self.vision_end_token)

    # get_rope_index numbers each row's tokens from its first unmasked one, so left padding changes nothing.
    batches_prompts = True

    def positions(self, model, inputs: dict, start: int | None = None, length: int | None = None, batch: int = 1):
        """3-D (mrope) position ids: for the prompt in ``inputs``, or for ``length`` text tokens after it."""
        core = model.model
        kwargs = {"input_ids": inputs["input_ids"], "image_grid_thw": inputs.get("image_grid_thw"),
                  "attention_mask": inputs.get("attention_mask")}
        position_ids, deltas = core.get_rope_index(**kwargs)
        if start is None:
            return position_ids
        steps = torch.arange(start, start + length, device=position_ids.device)
        text_pos = (steps + deltas.to(steps.device).view(-1, 1)).expand(batch, -1)
        return text_pos.unsqueeze(0).expand(3, -1, -1)
