"""Running the Sa2VA LLM: generation, and teacher-forced `[SEG]` answers that share one image prefix.

The forced path is why `segment`/`track` with many expressions stay cheap: the images are encoded and
the prompt prefix that holds them is run once; each expression only adds its own few text tokens,
batched together on top of the cached keys/values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from sa2va_engine.vlm_family import VlmFamily


@dataclass
class Generated:
    text: str  # decoded answer, special tokens kept (so `[SEG]`, `<p>` survive)
    token_ids: list[int]
    seg_states: torch.Tensor  # (n_seg, hidden) last-layer states at each generated [SEG]


def _to_device(inputs: dict, device, dtype) -> dict:
    out = {}
    for key, value in inputs.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device)
            if value.is_floating_point():
                value = value.to(dtype)
        out[key] = value
    return out


@torch.inference_mode()
def generate(model, family: VlmFamily, processor, images: list[Image.Image], text: str, *, seg_id: int,
             history=None, max_new_tokens: int = 256, min_new_tokens: int = 0, device="cpu", dtype=torch.float32) -> Generated:
    """Greedy generation; returns the text and the hidden state at every generated ``[SEG]``."""
    prompt = family.encode(processor, images, text, history)
    inputs = _to_device(prompt.inputs, device, dtype)
    tok = family.tokenizer(processor)
    # The answer ends at the turn's end token whatever generation_config a checkpoint ships (or lacks).
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens, do_sample=False, output_hidden_states=True,
                         return_dict_in_generate=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    prompt_len = inputs["input_ids"].shape[1]
    new_ids = out.sequences[0, prompt_len:]
    # Step 0 holds the whole prompt; each later step one token. The state *at* token i is the one
    # produced when token i was the input, i.e. step i+1 for the i-th generated token.
    states = [step[-1][0, -1] for step in out.hidden_states[1:]]
    seg_positions = [i for i, t in enumerate(new_ids.tolist()) if t == seg_id and i < len(states)]
    seg_states = torch.stack([states[i] for i in seg_positions]) if seg_positions else torch.zeros(0, model.config.get_text_config().hidden_size)
    text_out = family.tokenizer(processor).decode(new_ids, skip_special_tokens=False)
    return Generated(text=_strip_eos(text_out, processor, family), token_ids=new_ids.tolist(), seg_states=seg_states)


@torch.inference_mode()
def generate_batch(model, family: VlmFamily, processor, image_sets: list[list[Image.Image]], text: str, *,
                   seg_id: int, max_new_tokens: int = 256, device="cpu", dtype=torch.float32) -> list[Generated]:
    """`generate` of the same ``text`` over several image sets in one batched greedy generation (left-padded
    prompts; the attention mask keeps each row to what it would see alone). Each row's answer ends at its first
    end token, which it keeps, as `generate`'s does; the rows after it are padding."""
    tok = family.tokenizer(processor)
    prompts = [family.render(processor, len(images), text) for images in image_sets]
    images = [image for images in image_sets for image in images]
    side, tok.padding_side = tok.padding_side, "left"
    try:
        raw = processor(text=prompts, images=images or None, return_tensors="pt", padding=True)
    finally:
        tok.padding_side = side
    inputs = _to_device(dict(raw), device, dtype)
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, output_hidden_states=True,
                         return_dict_in_generate=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    prompt_len = inputs["input_ids"].shape[1]
    ends = {t for t in (tok.eos_token_id, tok.pad_token_id) if t is not None}
    hidden = model.config.get_text_config().hidden_size
    results = []
    for row in range(len(image_sets)):
        ids = out.sequences[row, prompt_len:].tolist()
        stop = next((i for i, t in enumerate(ids) if t in ends), None)
        ids = ids if stop is None else ids[:stop + 1]
        states = [step[-1][row, -1] for step in out.hidden_states[1:len(ids) + 1]]
        segs = [i for i, t in enumerate(ids) if t == seg_id and i < len(states)]
        seg_states = torch.stack([states[i] for i in segs]) if segs else torch.zeros(0, hidden)
        text_out = tok.decode(ids, skip_special_tokens=False)
        results.append(Generated(text=_strip_eos(text_out, processor, family), token_ids=ids, seg_states=seg_states))
    return results


@torch.inference_mode()
def next_token_logits(model, family: VlmFamily, processor, images: list[Image.Image], text: str, *,
                      device="cpu", dtype=torch.float32) -> torch.Tensor:
    """(vocab,) float32 logits of the token that would open the answer to ``text``."""
    inputs = _to_device(family.encode(processor, images, text).inputs, device, dtype)
    logits = model(**inputs, position_ids=family.positions(model, inputs), logits_to_keep=1).logits
    return logits[0, -1].float()


@torch.inference_mode()
def next_token_logits_batch(model, family: VlmFamily, processor, image_sets: list[list[Image.Image]], text: str, *,
                            device="cpu", dtype=torch.float32) -> torch.Tensor:
    """(len(image_sets), vocab) float32: `next_token_logits` of the same ``text`` over several image sets in one
    forward pass. Prompts are left-padded, so every prompt's next token is read at the last position; the
    family's position ids skip the padding (attention mask), so each row sees what it would see alone."""
    tok = family.tokenizer(processor)
    prompts = [family.render(processor, len(images), text) for images in image_sets]
    images = [image for images in image_sets for image in images]
    side, tok.padding_side = tok.padding_side, "left"
    try:
        raw = processor(text=prompts, images=images or None, return_tensors="pt", padding=True)
    finally:
        tok.padding_side = side
    inputs = _to_device(dict(raw), device, dtype)
    logits = model(**inputs, position_ids=family.positions(model, inputs), logits_to_keep=1).logits
    return logits[:, -1].float()


def _strip_eos(text: str, processor, family: VlmFamily) -> str:
    tok = family.tokenizer(processor)
    for marker in {tok.eos_token, tok.pad_token, "<|im_end|>", "<|endoftext|>"}:
        if marker:
            text = text.replace(marker, "")
    return text.strip()


@torch.inference_mode()
def forced_seg_states(model, family: VlmFamily, processor, images: list[Image.Image], questions: list[str],
                      answer: str, *, seg_id: int, device="cpu", dtype=torch.float32) -> torch.Tensor:
    """Teacher-force ``answer`` after each question; return (len(questions), hidden) states at its `[SEG]`.

    The images and everything before the questions form a shared prefix that is run once."""
    if len(questions) == 1:
        # Nothing to share: one pass instead of prefix + suffix (a pass of a real-size LLM on a GPU
        # costs tens of milliseconds of kernel launches whatever its length).
        return _forced_unshared(model, family, processor, images, questions, answer, seg_id, device, dtype)
    tokenizer = family.tokenizer(processor)
    rendered = [family.render(processor, len(images), q) + answer for q in questions]
    split = family.prefix_split(rendered[0]) if images else None
    if split is None or any(r[:split] != rendered[0][:split] for r in rendered):
        return _forced_unshared(model, family, processor, images, questions, answer, seg_id, device, dtype)

    prefix_inputs = _to_device(dict(processor(text=[rendered[0][:split]], images=images, return_tensors="pt")), device, dtype)
    plen = prefix_inputs["input_ids"].shape[1]
    # Only the cache is wanted: logits_to_keep=1 skips the (tokens x vocab) projection, which for a
    # 151936-token vocabulary and ~900 tokens per frame is a tenth of the pass and gigabytes of memory.
    prefix_out = model(**prefix_inputs, use_cache=True, position_ids=family.positions(model, prefix_inputs), logits_to_keep=1)
    cache = prefix_out.past_key_values

    suffixes = [tokenizer(r[split:], add_special_tokens=False)["input_ids"] for r in rendered]
    k, slen = len(suffixes), max(len(s) for s in suffixes)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((k, slen), pad, dtype=torch.long)
    mask = torch.zeros((k, plen + slen), dtype=torch.long)
    mask[:, :plen] = 1
    for i, s in enumerate(suffixes):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, plen : plen + len(s)] = 1
    if k > 1:
        cache.batch_repeat_interleave(k)
    ids, mask = ids.to(device), mask.to(device)
    positions = family.positions(model, prefix_inputs, start=plen, length=slen, batch=k)
    out = model(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True, output_hidden_states=True,
                position_ids=positions, cache_position=torch.arange(plen, plen + slen, device=device), logits_to_keep=1)
    last = out.hidden_states[-1]  # (k, slen, hidden)
    return _pick_seg(last, ids, seg_id)


def _forced_unshared(model, family, processor, images, questions, answer, seg_id, device, dtype) -> torch.Tensor:
    states = []
    for q in questions:
        text = family.render(processor, len(images), q) + answer
        inputs = _to_device(dict(processor(text=[text], images=images or None, return_tensors="pt")), device, dtype)
        out = model(**inputs, output_hidden_states=True, position_ids=family.positions(model, inputs), logits_to_keep=1)
        states.append(_pick_seg(out.hidden_states[-1], inputs["input_ids"], seg_id))
    return torch.cat(states)


def _pick_seg(last_hidden: torch.Tensor, ids: torch.Tensor, seg_id: int) -> torch.Tensor:
    """The state at the last `[SEG]` of each row (the forced answer holds exactly one)."""
    rows = []
    for i in range(ids.shape[0]):
        where = (ids[i] == seg_id).nonzero().flatten()
        if len(where) == 0:
            raise RuntimeError("the forced answer has no [SEG] token: the tokenizer lacks [SEG]")
        rows.append(last_hidden[i, where[-1]])
    return torch.stack(rows)
