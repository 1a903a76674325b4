"""SAM-2's architecture as Sa2VA uses it, as one typed config.

Official Sa2VA checkpoints do not describe SAM-2 in config.json: the reference code hard-codes the
SAM-2 (v1) hiera-L configuration, so `Sam2Config()` with no arguments is exactly that. Checkpoints
written by this project's test factory add a ``sam2_config`` entry to config.json to make SAM-2 tiny;
a user's checkpoint never needs one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Sam2Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    image_size: int = 1024
    # Hiera trunk (hiera-L)
    embed_dim: int = 144
    num_heads: int = 2
    stages: tuple[int, ...] = (2, 6, 36, 4)
    global_att_blocks: tuple[int, ...] = (23, 33, 43)
    window_spec: tuple[int, ...] = (8, 4, 16, 8)
    window_pos_embed_bkg_spatial_size: tuple[int, int] = (7, 7)
    # The prompt/mask-decoder width is fixed at 256 by Sa2VA's text_hidden_fcs output.
    d_model: int = 256
    memory_attention_layers: int = 4
    memory_attention_ffn: int = 2048
    mem_dim: int = 64
    fuser_layers: int = 2
    num_maskmem: int = 7

    @property
    def backbone_channels(self) -> list[int]:
        """Channel count of each Hiera stage, deepest first (as FpnNeck expects)."""
        return [self.embed_dim * 2**i for i in reversed(range(len(self.stages)))]

    @property
    def feature_size(self) -> int:
        """Side of the stride-16 feature map in tokens."""
        return self.image_size // 16
