"""SAM-2 modules that compute once what is the same for all K tracked objects.

`StreamingTracker` hands SAM-2 one frame's features expanded to the K objects (a stride-0 batch, no
copy). Two steps of SAM-2 then only read those features, before anything object-specific is mixed in:
the first memory-attention layer's self-attention (its input is the frame itself) and the memory
encoder's projection of the frame features. The stock modules run them K times on identical rows; these
subclasses run them once and broadcast, and fall back to the stock path whenever the batch is not a
stride-0 expansion, and in training mode (where dropout would draw per object). Same weights, same keys,
same results (a test compares them with the stock modules).
"""

from __future__ import annotations

import torch
from sam2.modeling.memory_attention import MemoryAttention
from sam2.modeling.memory_encoder import MemoryEncoder
from sam2.modeling.sam.transformer import RoPEAttention


def _shared_rows(x: torch.Tensor | None, dim: int) -> bool:
    """True when every index along ``dim`` is the same memory (an `expand`ed batch of more than one)."""
    return x is not None and x.shape[dim] > 1 and x.stride(dim) == 0


class SharedFrameMemoryAttention(MemoryAttention):
    def forward(self, curr, memory, curr_pos=None, memory_pos=None, num_obj_ptr_tokens: int = 0):
        frame, frame_pos = (curr[0], curr_pos[0]) if isinstance(curr, list) else (curr, curr_pos)
        if self.training or not (self.batch_first and _shared_rows(frame, 1) and _shared_rows(frame_pos, 1)):
            return super().forward(curr, memory, curr_pos, memory_pos, num_obj_ptr_tokens)
        k = frame.shape[1]
        # (HW, B, C) sequence-first in, batch-first inside, as the stock forward does.
        one = frame[:, :1]
        if self.pos_enc_at_input:
            one = one + 0.1 * frame_pos[:, :1]
        query_pos = frame_pos.transpose(0, 1)
        memory, memory_pos = memory.transpose(0, 1), memory_pos.transpose(0, 1)
        def rope_kwds(layer) -> dict:
            return {"num_k_exclude_rope": num_obj_ptr_tokens} if isinstance(layer.cross_attn_image, RoPEAttention) else {}

        first = self.layers[0]
        output = first._forward_sa(one.transpose(0, 1), query_pos[:1]).expand(k, -1, -1)
        # The rest of the first layer, as MemoryAttentionLayer.forward runs it after self-attention.
        output = first._forward_ca(output, memory, query_pos, memory_pos, **rope_kwds(first))
        output = output + first.dropout3(first.linear2(first.dropout(first.activation(first.linear1(first.norm3(output))))))
        for layer in self.layers[1:]:
            output = layer(tgt=output, memory=memory, pos=memory_pos, query_pos=query_pos, **rope_kwds(layer))
        return self.norm(output).transpose(0, 1)


class SharedFrameMemoryEncoder(MemoryEncoder):
    def forward(self, pix_feat, masks, skip_mask_sigmoid: bool = False):
        if self.training or not _shared_rows(pix_feat, 0):
            return super().forward(pix_feat, masks, skip_mask_sigmoid)
        if not skip_mask_sigmoid:
            masks = torch.sigmoid(masks)
        masks = self.mask_downsampler(masks)
        frame = self.pix_feat_proj(pix_feat[:1].to(masks.device))
        x = self.fuser(frame + masks)
        x = self.out_proj(x)
        pos = self.position_encoding(x).to(x.dtype)
        return {"vision_features": x, "vision_pos_enc": [pos]}
