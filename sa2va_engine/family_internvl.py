"""Sa2VA on InternVL (Sa2VA-1B/4B on InternVL2.5, Sa2VA-InternVL3-2B/8B/14B): all with a Qwen2 LLM.

The official checkpoints store the original InternVL modules at the top level: ``vision_model.*``
(InternViT), ``mlp1.*`` (the projector) and ``language_model.*`` (``Qwen2ForCausalLM``). They run here on
transformers' native ``InternVLForConditionalGeneration``; this module maps the keys (InternViT's fused
``attn.qkv`` becomes ``q_proj``/``k_proj``/``v_proj``), builds the native config from the official
``config.json``, and does the image preprocessing and prompt rendering that the reference keeps in its
model code (448 px tiles, ImageNet normalisation, dynamic tiling for one image, one tile per video frame,
``<img>`` + ``<IMG_CONTEXT>`` x N + ``</img>`` per image, the ``qwen_chat`` template).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import InternVLConfig, InternVLForConditionalGeneration, Qwen2Config
from transformers.models.internvl.configuration_internvl import InternVLVisionConfig

from sa2va_engine.checkpoint import read_config
from sa2va_engine.errors import CheckpointError, InputError, UnsupportedModelError
from sa2va_engine.imagenet import IMAGENET_MEAN, IMAGENET_STD
from sa2va_engine.vlm_family import VlmFamily

IMG_START = "<img>"
IMG_END = "</img>"
IMG_CONTEXT = "<IMG_CONTEXT>"
# InternVL's own added tokens (before Sa2VA's five): every InternVL tokenizer has them.
INTERNVL_SPECIAL_TOKENS = ("<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>")

# The reference's predict_forward fixes these (whatever config.json says): tiles of one image.
MIN_TILES, MAX_TILES, USE_THUMBNAIL = 1, 12, True

# Sa2VA's templates.py (only those of Qwen2-LLM Sa2VA; internlm2_chat renders identically).
_QWEN_CHAT = {
    "INSTRUCTION": "<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n",
    "SUFFIX": "<|im_end|>",
    "SEP": "\n",
}
TEMPLATES = {"qwen_chat": _QWEN_CHAT, "internlm2_chat": _QWEN_CHAT}

# Fields of the official sub-configs that must not reach transformers (remote-code or flash-attn switches).
_LLM_DROP = {"attn_implementation", "_attn_implementation", "_attn_implementation_autoset", "auto_map",
             "_name_or_path", "torch_dtype", "dtype", "transformers_version", "architectures", "model_type"}


# -- the key layout ------------------------------------------------------------------------------
# (official prefix, native prefix); a rule matches the whole name or a dotted prefix of it.
_TOP = (
    ("vision_model.embeddings.class_embedding", "model.vision_tower.embeddings.cls_token"),
    ("vision_model.embeddings.position_embedding", "model.vision_tower.embeddings.position_embeddings"),
    ("vision_model.embeddings.patch_embedding", "model.vision_tower.embeddings.patch_embeddings.projection"),
    ("mlp1.0", "model.multi_modal_projector.layer_norm"),
    ("mlp1.1", "model.multi_modal_projector.linear_1"),
    ("mlp1.3", "model.multi_modal_projector.linear_2"),
    ("language_model.model", "model.language_model"),
    ("language_model.lm_head", "lm_head"),
)
_LAYER = (
    ("attn.proj", "attention.projection_layer"),
    ("attn.q_norm", "attention.q_norm"),
    ("attn.k_norm", "attention.k_norm"),
    ("ls1", "lambda_1"),
    ("ls2", "lambda_2"),
    ("norm1", "layernorm_before"),
    ("norm2", "layernorm_after"),
    ("mlp.fc1", "mlp.fc1"),
    ("mlp.fc2", "mlp.fc2"),
)
_CKPT_LAYER = re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.(.+)$")
_MODEL_LAYER = re.compile(r"^model\.vision_tower\.encoder\.layer\.(\d+)\.(.+)$")
_CKPT_QKV = re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.attn\.qkv\.(weight|bias)$")
_MODEL_QKV = re.compile(r"^model\.vision_tower\.encoder\.layer\.(\d+)\.attention\.([qkv])_proj\.(weight|bias)$")
_UNKNOWN = "<unmapped>."  # never a module key, so the strict loader reports the checkpoint key


def _rename(key: str, rules, forward: bool) -> str | None:
    for official, native in rules:
        src, dst = (official, native) if forward else (native, official)
        if key == src or key.startswith(src + "."):
            return dst + key[len(src):]
    return None


def _map_key(key: str, forward: bool) -> str | None:
    """Official -> native (``forward``) or back, through the top-level rules or a vision layer's rules."""
    found = _rename(key, _TOP, forward)
    if found is not None:
        return found
    layer = (_CKPT_LAYER if forward else _MODEL_LAYER).match(key)
    rest = _rename(layer.group(2), _LAYER, forward) if layer else None
    if rest is None:
        return None
    prefix = "model.vision_tower.encoder.layer" if forward else "vision_model.encoder.layers"
    return f"{prefix}.{layer.group(1)}.{rest}"


def checkpoint_to_model_key(key: str) -> str:
    """An official InternVL key -> the native module key (keys of the fused qkv go through `split`)."""
    found = _map_key(key, forward=True)
    return _UNKNOWN + key if found is None else found


def model_to_checkpoint_key(key: str) -> str:
    if key.startswith(_UNKNOWN):
        return key[len(_UNKNOWN):]
    found = _map_key(key, forward=False)
    if found is None:
        raise KeyError(f"{key}: no official InternVL name for this module key")
    return found


# -- image preprocessing (as the reference's predict_forward does it) ----------------------------
def _closest_aspect_ratio(aspect: float, ratios, width: int, height: int, size: int) -> tuple[int, int]:
    best_diff, best = float("inf"), (1, 1)
    area = width * height
    for ratio in ratios:
        diff = abs(aspect - ratio[0] / ratio[1])
        if diff < best_diff:
            best_diff, best = diff, ratio
        elif diff == best_diff and area > 0.5 * size * size * ratio[0] * ratio[1]:
            best = ratio
    return best


def dynamic_tiles(image: Image.Image, size: int, min_num: int = MIN_TILES, max_num: int = MAX_TILES,
                  use_thumbnail: bool = USE_THUMBNAIL) -> list[Image.Image]:
    """InternVL's dynamic_preprocess: the grid of ``size`` tiles closest to the image's aspect, plus a thumbnail."""
    width, height = image.size
    ratios = {(i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
              if min_num <= i * j <= max_num}
    ratios = sorted(ratios, key=lambda r: r[0] * r[1])
    cols, rows = _closest_aspect_ratio(width / height, ratios, width, height, size)
    resized = image.resize((size * cols, size * rows))  # PIL's default filter, as the reference
    tiles = []
    for i in range(cols * rows):
        x, y = (i % cols) * size, (i // cols) * size
        tiles.append(resized.crop((x, y, x + size, y + size)))
    if use_thumbnail and len(tiles) != 1:
        tiles.append(image.resize((size, size)))
    return tiles


def _to_pixels(tile: Image.Image, size: int) -> torch.Tensor:
    """Resize((size, size), BICUBIC) -> ToTensor -> Normalize(ImageNet), on a PIL tile."""
    if tile.size != (size, size):
        tile = tile.resize((size, size), Image.BICUBIC)
    array = np.asarray(tile, dtype=np.float32) / 255.0
    array = (array - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


class InternVlProcessor:
    """Tokenizer + InternVL image preprocessing, called like a transformers processor.

    A prompt holds one ``<IMG_CONTEXT>`` per image; it becomes ``<img>`` + ``<IMG_CONTEXT>`` x (tiles x
    tokens per tile) + ``</img>``. One image is tiled dynamically; several images (video frames) give one
    tile each, as the reference does for a video."""

    def __init__(self, tokenizer, image_size: int = 448, patch_size: int = 14, downsample_ratio: float = 0.5,
                 min_tiles: int = MIN_TILES, max_tiles: int = MAX_TILES, use_thumbnail: bool = USE_THUMBNAIL):
        self.tokenizer = tokenizer
        self.image_size = image_size
        self.tokens_per_tile = int((image_size // patch_size) ** 2 * downsample_ratio**2)
        self.min_tiles, self.max_tiles, self.use_thumbnail = min_tiles, max_tiles, use_thumbnail

    def tiles(self, images: list[Image.Image]) -> list[list[Image.Image]]:
        images = [im.convert("RGB") if im.mode != "RGB" else im for im in images]
        if len(images) == 1:
            return [dynamic_tiles(images[0], self.image_size, self.min_tiles, self.max_tiles, self.use_thumbnail)]
        return [[im] for im in images]

    def __call__(self, text=None, images=None, return_tensors="pt", **_ignored) -> dict:
        texts = [text] if isinstance(text, str) else list(text)
        pixel_values = None
        if images:
            per_image = self.tiles(list(images))
            slots = sum(t.count(IMG_CONTEXT) for t in texts)
            if slots != len(per_image):
                raise InputError(f"the prompt has {slots} image slot(s) for {len(per_image)} image(s)")
            counts = iter(len(t) for t in per_image)

            def expand(_match):
                return IMG_START + IMG_CONTEXT * (next(counts) * self.tokens_per_tile) + IMG_END

            texts = [re.sub(re.escape(IMG_CONTEXT), expand, t) for t in texts]
            pixel_values = torch.stack([_to_pixels(tile, self.image_size) for t in per_image for tile in t])
        encoded = self.tokenizer(texts, return_tensors=return_tensors, padding=len(texts) > 1)
        out = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
        if pixel_values is not None:
            out["pixel_values"] = pixel_values
        return out

    def save_pretrained(self, directory: str) -> None:
        self.tokenizer.save_pretrained(directory)


class InternVlFamily(VlmFamily):
    name = "internvl"
    checkpoint_prefix = ""  # vision_model., mlp1., language_model. sit at the top level

    # -- building -------------------------------------------------------------------------------
    def make_config(self, raw: dict) -> InternVLConfig:
        llm = dict(raw.get("llm_config") or {})
        vision = dict(raw.get("vision_config") or {})
        if raw.get("ps_version", "v1") != "v2":
            raise UnsupportedModelError(f"InternVL pixel shuffle {raw.get('ps_version', 'v1')!r} is not supported (only 'v2')")
        if raw.get("select_layer", -1) != -1:
            raise UnsupportedModelError(f"InternVL select_layer {raw.get('select_layer')} is not supported (only -1)")
        template = str(raw.get("template") or "").replace("-", "_")
        if template not in TEMPLATES:
            raise UnsupportedModelError(f"Sa2VA prompt template {raw.get('template')!r} is not supported ({', '.join(TEMPLATES)})")
        if vision.get("qk_normalization", True) and vision.get("layer_norm_eps", 1e-6) != 1e-6:
            # transformers' InternViT q/k RMSNorm has a fixed eps of 1e-6
            raise UnsupportedModelError(f"InternViT qk-normalization with eps {vision.get('layer_norm_eps')} is not supported")
        text = {k: v for k, v in llm.items() if k not in _LLM_DROP}
        text_config = Qwen2Config(**text)
        vision_config = _vision_config(vision)
        image_size = raw.get("force_image_size") or vision_config.image_size[0]
        ratio = raw.get("downsample_ratio", 0.5)
        return InternVLConfig(
            vision_config=vision_config,
            text_config=text_config,
            image_seq_length=int((image_size // vision_config.patch_size[0]) ** 2 * ratio**2),
            downsample_ratio=ratio,
            projector_hidden_act="gelu",
            vision_feature_layer=-1,
            vision_feature_select_strategy="default",
            tie_word_embeddings=text_config.tie_word_embeddings,
        )

    def complete_config(self, config: InternVLConfig, processor) -> None:
        """What only the tokenizer knows: the `<IMG_CONTEXT>` id, and the reference's stop words as eos."""
        tok = processor.tokenizer
        image_id = tok.convert_tokens_to_ids(IMG_CONTEXT)
        if image_id is None or image_id == tok.unk_token_id:
            raise CheckpointError(f"the checkpoint's tokenizer has no {IMG_CONTEXT} token: not an InternVL checkpoint")
        config.image_token_id = image_id
        stops = []
        for token in (tok.eos_token, "<|im_end|>", "<|endoftext|>"):
            tid = tok.convert_tokens_to_ids(token) if token else None
            if tid is not None and tid != tok.unk_token_id and tid not in stops:
                stops.append(tid)
        if stops:
            config.text_config.eos_token_id = stops

    def build(self, config) -> torch.nn.Module:
        return InternVLForConditionalGeneration(config)

    def hidden_size(self, config) -> int:
        return config.text_config.hidden_size

    # -- keys -----------------------------------------------------------------------------------
    def map_checkpoint_key(self, key: str) -> str:
        return checkpoint_to_model_key(key)

    def unmap_model_key(self, key: str) -> str:
        return model_to_checkpoint_key(key)

    def split_checkpoint_key(self, key: str) -> list[str] | None:
        match = _CKPT_QKV.match(key)
        if not match:
            return None
        layer, kind = match.groups()
        return [f"model.vision_tower.encoder.layer.{layer}.attention.{p}_proj.{kind}" for p in "qkv"]

    def split_checkpoint_tensor(self, key: str, tensor: torch.Tensor) -> list[torch.Tensor]:
        if tensor.shape[0] % 3:
            raise CheckpointError(f"{key} has shape {tuple(tensor.shape)}: a fused qkv needs a first dimension divisible by 3")
        return list(tensor.chunk(3, dim=0))  # InternViT's qkv rows are [q; k; v]

    def merge_for_save(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for key, value in state.items():
            match = _MODEL_QKV.match(key)
            if not match:
                out[model_to_checkpoint_key(key)] = value
                continue
            layer, part, kind = match.groups()
            if part != "q":
                continue
            base = f"model.vision_tower.encoder.layer.{layer}.attention"
            parts = [state[f"{base}.{p}_proj.{kind}"] for p in "qkv"]
            out[f"vision_model.encoder.layers.{layer}.attn.qkv.{kind}"] = torch.cat(parts, dim=0)
        return out

    # -- processor and prompts ------------------------------------------------------------------
    def load_processor(self, directory: Path) -> InternVlProcessor:
        from transformers import Qwen2TokenizerFast

        raw = read_config(Path(directory))
        try:
            tokenizer = Qwen2TokenizerFast.from_pretrained(str(directory))
        except Exception as exc:  # transformers raises many types for a broken tokenizer dir
            raise CheckpointError(f"{directory}: cannot load the InternVL tokenizer ({str(exc).splitlines()[0][:160]})") from exc
        vision = raw.get("vision_config") or {}
        image_size = raw.get("force_image_size") or vision.get("image_size", 448)
        return InternVlProcessor(tokenizer, image_size=int(image_size), patch_size=int(vision.get("patch_size", 14)),
                                 downsample_ratio=float(raw.get("downsample_ratio", 0.5)))

    def tokenizer(self, processor):
        return processor.tokenizer

    def render(self, processor, n_images: int, text: str, history: list[tuple[str, str]] | None = None) -> str:
        """The reference's prompt: the images (``<image>\\n``) open the first user turn; each earlier turn is
        INSTRUCTION + answer + SUFFIX + SEP; no system turn."""
        template = _QWEN_CHAT
        turns = [(u, a) for u, a in (history or [])] + [(text, None)]
        out = []
        for i, (user, answer) in enumerate(turns):
            if i == 0 and n_images:
                user = "\n".join([IMG_CONTEXT] * n_images) + "\n" + user
            out.append(template["INSTRUCTION"].format(input=user))
            if answer is not None:
                out.append(answer + template["SUFFIX"] + template["SEP"])
        return "".join(out)

    def prefix_split(self, prompt_text: str) -> int | None:
        """After the last image slot: it expands to ``...</img>``, a special token, so the split is token-exact."""
        end = prompt_text.rfind(IMG_CONTEXT)
        return None if end < 0 else end + len(IMG_CONTEXT)

    def positions(self, model, inputs: dict, start: int | None = None, length: int | None = None, batch: int = 1):
        """Plain 1-D positions: the model numbers the prompt itself; ``length`` tokens after ``start`` follow it."""
        if start is None:
            return None
        device = inputs["input_ids"].device
        return torch.arange(start, start + length, device=device).unsqueeze(0).expand(batch, -1)


def _vision_config(vision: dict) -> InternVLVisionConfig:
    """The official InternVisionConfig (defaults as its class has them) -> the native one."""
    size = vision.get("image_size", 224)
    patch = vision.get("patch_size", 14)
    dropout = vision.get("dropout", 0.0)
    return InternVLVisionConfig(
        hidden_size=vision.get("hidden_size", 3200),
        num_hidden_layers=vision.get("num_hidden_layers", 48),
        num_attention_heads=vision.get("num_attention_heads", 25),
        intermediate_size=vision.get("intermediate_size", 12800),
        hidden_act=vision.get("hidden_act", "gelu"),
        attention_bias=vision.get("qkv_bias", False),
        use_qk_norm=vision.get("qk_normalization", True),
        norm_type=vision.get("norm_type", "rms_norm"),
        layer_norm_eps=vision.get("layer_norm_eps", 1e-6),
        image_size=size,
        patch_size=patch,
        num_channels=vision.get("num_channels", 3),
        attention_dropout=vision.get("attention_dropout", 0.0),
        projection_dropout=dropout,
        hidden_dropout_prob=0.0,
        layer_scale_init_value=vision.get("initializer_factor", 0.1),
        use_mean_pooling=True,  # InternViT has no final norm; the native tower then has none either
        use_absolute_position_embeddings=True,
        use_mask_token=False,
    )


INTERNVL_FAMILY = InternVlFamily()
