"""The Sa2VA network: a VLM, SAM-2 with a language prompt, and `text_hidden_fcs` between them.

Attribute names follow the official checkpoints so that weights map by name:
``grounding_encoder.sam2_model.*`` and ``text_hidden_fcs.*``; the VLM sits under ``mllm`` and its
family maps the checkpoint's own prefix onto it.
"""

from __future__ import annotations

import torch
from torch import nn

from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.sam2_model import LanguageSAM2


class GroundingEncoder(nn.Module):
    def __init__(self, sam2_config: Sam2Config):
        super().__init__()
        self.sam2_model = LanguageSAM2(sam2_config)


class Sa2VAModel(nn.Module):
    def __init__(self, mllm: nn.Module, hidden_size: int, sam2_config: Sam2Config):
        super().__init__()
        self.mllm = mllm
        self.grounding_encoder = GroundingEncoder(sam2_config)
        out_dim = self.grounding_encoder.sam2_model.hidden_dim
        # Linear -> ReLU -> Linear -> Dropout(0), as in the paper; indices 0 and 2 hold the weights.
        self.text_hidden_fcs = nn.Sequential(
            nn.Linear(hidden_size, hidden_size), nn.ReLU(inplace=True), nn.Linear(hidden_size, out_dim), nn.Dropout(0.0)
        )

    @property
    def sam2(self) -> LanguageSAM2:
        return self.grounding_encoder.sam2_model

    def seg_embeddings(self, seg_states: torch.Tensor) -> torch.Tensor:
        """(n, hidden) `[SEG]` states -> (n, 1, 256) SAM-2 prompt tokens."""
        weight = self.text_hidden_fcs[0].weight
        return self.text_hidden_fcs(seg_states.to(device=weight.device, dtype=weight.dtype)).unsqueeze(1)
