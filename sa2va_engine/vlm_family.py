"""What a Sa2VA model family (Qwen3-VL, Qwen2.5-VL, InternVL) provides to the engine.

A family knows its transformers classes, how official checkpoint keys map onto them, how to render a
prompt with images, and how positions are numbered (mrope for Qwen-VL, plain for InternVL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image


@dataclass
class EncodedPrompt:
    """A rendered prompt: ``text`` as the template produced it, ``inputs`` the model's tensors for it."""

    text: str
    inputs: dict


class VlmFamily:
    name: str = ""
    checkpoint_prefix: str = ""  # the key prefix of the VLM's weights inside a Sa2VA checkpoint

    def make_config(self, raw: dict):
        raise NotImplementedError

    def build(self, config) -> torch.nn.Module:
        raise NotImplementedError

    def hidden_size(self, config) -> int:
        raise NotImplementedError

    def map_checkpoint_key(self, key: str) -> str:
        """A checkpoint key with `checkpoint_prefix` removed -> the transformers module's key."""
        return key

    def unmap_model_key(self, key: str) -> str:
        """The inverse of `map_checkpoint_key`, for writing checkpoints in the official layout."""
        return key

    def split_checkpoint_key(self, key: str) -> list[str] | None:
        """Module keys for a checkpoint tensor that the module holds as several (InternViT's fused qkv ->
        q/k/v), in the order `split_checkpoint_tensor` returns the parts; None for a one-to-one key."""
        return None

    def split_checkpoint_tensor(self, key: str, tensor: torch.Tensor) -> list[torch.Tensor]:
        return [tensor]

    def merge_for_save(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Module state (keys without ``mllm.``) -> checkpoint tensors (keys without `checkpoint_prefix`):
        the inverse of the two maps above."""
        return {self.unmap_model_key(k): v for k, v in state.items()}

    def complete_config(self, config, processor) -> None:
        """Fill in what only the processor/tokenizer knows (InternVL: the image token id). Default: nothing."""

    def load_processor(self, directory: Path):
        raise NotImplementedError

    def tokenizer(self, processor):
        raise NotImplementedError

    def render(self, processor, n_images: int, text: str, history: list[tuple[str, str]] | None = None) -> str:
        """The prompt text for one user turn after ``history``, with one image slot per image; text only,
        so callers that need several renderings never preprocess the images more than once."""
        raise NotImplementedError

    def encode(self, processor, images: list[Image.Image], text: str, history=None) -> EncodedPrompt:
        prompt = self.render(processor, len(images or []), text, history)
        return EncodedPrompt(text=prompt, inputs=dict(processor(text=[prompt], images=images or None, return_tensors="pt")))

    def prefix_split(self, prompt_text: str) -> int | None:
        raise NotImplementedError

    # Whether several prompts with their images can run as one left-padded batch (`next_token_logits_batch`).
    batches_prompts = False

    def positions(self, model, inputs: dict, start: int | None = None, length: int | None = None, batch: int = 1):
        """Position ids for the prompt (``start`` None) or for ``length`` tokens that follow position ``start``.
        ``None`` lets the model number positions itself."""
        return None
