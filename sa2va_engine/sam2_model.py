"""SAM-2 built from the `sam2` package, with one extension: a language prompt.

Sa2VA's only change to SAM-2 is that the projected `[SEG]` hidden state is appended to the sparse
prompt embeddings that enter the mask decoder. We do that by swapping the prompt encoder for a
subclass that appends pending language tokens; parameter names are untouched, so official
`grounding_encoder.sam2_model.*` weights load as they are (except `g_weight`, see checkpoint keys).

Around the network, the checkpoint's `InputHandling` (sa2va_engine/input_handling.py) decides how a frame is
resized to SAM-2's input and whether an object scored absent keeps its mask: the reference's SAM-2 comments out
the sam2 package's overwrite of such masks with -1024, and official checkpoints get that behaviour here.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sam2.modeling.backbones.hieradet import Hiera
from sam2.modeling.backbones.image_encoder import FpnNeck, ImageEncoder
from sam2.modeling.memory_attention import MemoryAttention, MemoryAttentionLayer
from sam2.modeling.memory_encoder import CXBlock, Fuser, MaskDownSampler, MemoryEncoder
from sam2.modeling.position_encoding import PositionEmbeddingSine
from sam2.modeling.sam.prompt_encoder import PromptEncoder
from sam2.modeling.sam.transformer import RoPEAttention
from sam2.modeling.sam2_base import SAM2Base

from sa2va_engine.imagenet import IMAGENET_MEAN, IMAGENET_STD
from sa2va_engine.input_handling import REFERENCE, InputHandling
from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.sam2_shared import SharedFrameMemoryAttention, SharedFrameMemoryEncoder



class LanguagePromptEncoder(PromptEncoder):
    """A PromptEncoder whose sparse output is followed by the language tokens set on it, if any."""

    language_tokens: torch.Tensor | None = None

    def forward(self, points, boxes, masks):
        sparse, dense = super().forward(points, boxes, masks)
        if self.language_tokens is not None:
            tokens = self.language_tokens.to(device=sparse.device, dtype=sparse.dtype)
            if tokens.shape[0] != sparse.shape[0]:
                raise ValueError(f"{tokens.shape[0]} language prompts for a batch of {sparse.shape[0]} objects")
            sparse = torch.cat([sparse, tokens], dim=1)
        return sparse, dense


class LanguageSAM2(SAM2Base):
    """SAM2Base plus `language_prompt()`, the hook Sa2VA's `[SEG]` embeddings go through."""

    def __init__(self, config: Sam2Config):
        self.sam2_config = config
        super().__init__(
            image_encoder=_image_encoder(config),
            memory_attention=_memory_attention(config),
            memory_encoder=_memory_encoder(config),
            num_maskmem=config.num_maskmem,
            image_size=config.image_size,
            # The settings below are those of Sa2VA's (and SAM-2 v1 hiera-L's) video predictor.
            sigmoid_scale_for_mem_enc=20.0,
            sigmoid_bias_for_mem_enc=-10.0,
            use_mask_input_as_output_without_sam=True,
            directly_add_no_mem_embed=True,
            use_high_res_features_in_sam=True,
            multimask_output_in_sam=True,
            iou_prediction_use_sigmoid=True,
            use_obj_ptrs_in_encoder=True,
            add_tpos_enc_to_obj_ptrs=False,
            only_obj_ptrs_in_the_past_for_eval=True,
            pred_obj_scores=True,
            pred_obj_scores_mlp=True,
            fixed_no_obj_ptr=True,
            multimask_output_for_tracking=True,
            use_multimask_token_for_obj_ptr=True,
            multimask_min_pt_num=0,
            multimask_max_pt_num=1,
            use_mlp_for_obj_ptr_proj=True,
            compile_image_encoder=False,
            sam_mask_decoder_extra_args={
                "dynamic_multimask_via_stability": True,
                "dynamic_multimask_stability_delta": 0.05,
                "dynamic_multimask_stability_thresh": 0.98,
            },
        )
        self.sam_prompt_encoder.__class__ = LanguagePromptEncoder
        self.handling: InputHandling = REFERENCE
        # The mask decoder's own logits of the last call, before the sam2 package can overwrite absent objects'.
        self._decoder_masks: torch.Tensor | None = None
        self.sam_mask_decoder.register_forward_hook(self._remember_decoder_masks)

    def _remember_decoder_masks(self, _module, _inputs, outputs) -> None:
        self._decoder_masks = outputs[0]

    def _forward_sam_heads(self, backbone_features, point_inputs=None, mask_inputs=None, high_res_features=None,
                           multimask_output=False):
        """SAM2Base's heads; with ``handling.absent_masks == "keep"`` the masks are the decoder's own logits even
        where the object score is <= 0 (the same selection and upsampling, without the -1024 overwrite)."""
        out = super()._forward_sam_heads(backbone_features, point_inputs, mask_inputs, high_res_features,
                                         multimask_output)
        raw, self._decoder_masks = self._decoder_masks, None
        if self.handling.absent_masks == "empty" or not self.pred_obj_scores or raw is None:
            return out
        _, _, ious, _, _, obj_ptr, object_score_logits = out
        low_multi = raw.float()
        high_multi = F.interpolate(low_multi, size=(self.image_size, self.image_size), mode="bilinear",
                                   align_corners=False)
        if multimask_output:
            best = torch.argmax(ious, dim=-1)
            rows = torch.arange(low_multi.shape[0], device=low_multi.device)
            low, high = low_multi[rows, best].unsqueeze(1), high_multi[rows, best].unsqueeze(1)
        else:
            low, high = low_multi, high_multi
        return low_multi, high_multi, ious, low, high, obj_ptr, object_score_logits

    @contextmanager
    def language_prompt(self, tokens: torch.Tensor) -> Iterator[None]:
        """Within the block, every mask-decoder call also attends to ``tokens`` (B, 1, 256)."""
        encoder = self.sam_prompt_encoder
        encoder.language_tokens = tokens
        try:
            yield
        finally:
            encoder.language_tokens = None

    def input_pixels(self, frame: np.ndarray, device: torch.device | str) -> torch.Tensor:
        """(H, W, 3) uint8 RGB frame -> (3, S, S) float32 on ``device``: resized to SAM-2's square size as the
        handling says, then ImageNet mean/std. PIL bicubic (the reference's) resizes on the host and uploads S x S
        bytes; bilinear uploads the frame's bytes and resizes there."""
        size = self.image_size
        if self.handling.sam2_resize == "pil_bicubic" and frame.shape[:2] != (size, size):
            frame = np.array(Image.fromarray(frame).resize((size, size), Image.Resampling.BICUBIC))
        return self.normalize(torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(2, 0, 1))

    def normalize(self, rgb_uint8: torch.Tensor) -> torch.Tensor:
        """(3, H, W) uint8 RGB -> (3, S, S) float, antialiased bilinear resize to the model's size when it is
        not that size already, ImageNet mean/std, on the input's device."""
        size = self.image_size
        x = rgb_uint8.to(torch.float32).unsqueeze(0) / 255.0
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        return ((x - mean) / std)[0]


def _image_encoder(c: Sam2Config) -> ImageEncoder:
    trunk = Hiera(
        embed_dim=c.embed_dim,
        num_heads=c.num_heads,
        stages=tuple(c.stages),
        global_att_blocks=tuple(c.global_att_blocks),
        window_pos_embed_bkg_spatial_size=tuple(c.window_pos_embed_bkg_spatial_size),
        window_spec=tuple(c.window_spec),
    )
    neck = FpnNeck(
        position_encoding=PositionEmbeddingSine(num_pos_feats=c.d_model, normalize=True, scale=None, temperature=10000),
        d_model=c.d_model,
        backbone_channel_list=c.backbone_channels,
        fpn_top_down_levels=[2, 3],
        fpn_interp_model="nearest",
    )
    return ImageEncoder(trunk=trunk, neck=neck, scalp=1)


def _memory_attention(c: Sam2Config) -> MemoryAttention:
    feat = [c.feature_size, c.feature_size]
    layer = MemoryAttentionLayer(
        activation="relu",
        cross_attention=RoPEAttention(
            rope_theta=10000.0, feat_sizes=feat, rope_k_repeat=True, embedding_dim=c.d_model,
            num_heads=1, downsample_rate=1, dropout=0.1, kv_in_dim=c.mem_dim,
        ),
        d_model=c.d_model,
        dim_feedforward=c.memory_attention_ffn,
        dropout=0.1,
        pos_enc_at_attn=False,
        pos_enc_at_cross_attn_keys=True,
        pos_enc_at_cross_attn_queries=False,
        self_attention=RoPEAttention(
            rope_theta=10000.0, feat_sizes=feat, embedding_dim=c.d_model, num_heads=1, downsample_rate=1, dropout=0.1,
        ),
    )
    return SharedFrameMemoryAttention(d_model=c.d_model, pos_enc_at_input=True, layer=layer,
                                      num_layers=c.memory_attention_layers)


def _memory_encoder(c: Sam2Config) -> MemoryEncoder:
    return SharedFrameMemoryEncoder(
        out_dim=c.mem_dim,
        mask_downsampler=MaskDownSampler(embed_dim=c.d_model, kernel_size=3, stride=2, padding=1),
        fuser=Fuser(
            CXBlock(dim=c.d_model, kernel_size=7, padding=3, layer_scale_init_value=1e-6, use_dwconv=True),
            num_layers=c.fuser_layers,
        ),
        position_encoding=PositionEmbeddingSine(num_pos_feats=c.mem_dim, normalize=True, scale=None, temperature=10000),
        in_dim=c.d_model,
    )
