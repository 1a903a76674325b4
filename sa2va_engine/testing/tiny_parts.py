"""What the tiny checkpoint factories share: a tiny SAM-2, a byte-level BPE tokenizer with Qwen's and Sa2VA's
special tokens, Qwen's chat template, and the switch that makes SAM-2 score every object present."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sa2va_engine.model import Sa2VAModel
from sa2va_engine.prompts import SA2VA_SPECIAL_TOKENS
from sa2va_engine.sam2_config import Sam2Config

QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]

# A Qwen-style chat template written for these checkpoints (the official ones ship their own).
QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'video' -%}{{ '<|vision_start|><|video_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{ '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

# Words the tiny BPE learns from; any other text still encodes (byte-level), just in more tokens.
_CORPUS = (
    "Please segment the dog . Sure , [SEG] . It is [SEG] . Could you please give me a brief description of the image ? "
    "Please respond with interleaved segmentation masks for the corresponding parts of the answer . "
    "a dog jumps over the red ball on the grass ; a person plays ping pong ; a car drives on the road ; "
    "the athlete does a pole vault . yes no Yes No . Answer yes or no . region box describe short "
)

TINY_SAM2 = Sam2Config(
    image_size=256, embed_dim=8, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(3,),
    window_spec=(8, 4, 4, 4), window_pos_embed_bkg_spatial_size=(4, 4),
    memory_attention_layers=1, memory_attention_ffn=64, fuser_layers=1,
)


def mark_objects_present(model: Sa2VAModel, logit: float = 4.0) -> None:
    """Bias the object-score head's output so every object is scored present (sigmoid(4) = 0.98)."""
    head = model.grounding_encoder.sam2_model.sam_mask_decoder.pred_obj_score_head
    with torch.no_grad():
        head.layers[-1].weight.zero_()
        head.layers[-1].bias.fill_(logit)


def qwen_tokenizer(corpus: Sequence[str] | None = None, vocab_size: int = 600):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2TokenizerFast

    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=QWEN_SPECIAL + list(SA2VA_SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(list(corpus) if corpus else [_CORPUS] * 4, trainer=trainer)
    tok = Qwen2TokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                             unk_token=None, bos_token=None)
    tok.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL[1:] + list(SA2VA_SPECIAL_TOKENS)})
    tok.chat_template = QWEN_CHAT_TEMPLATE
    return tok
