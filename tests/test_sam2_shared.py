"""SAM-2's frame-only work done once for K objects gives what the stock modules give when run K times."""

from __future__ import annotations

import torch
from sam2.modeling.memory_attention import MemoryAttention
from sam2.modeling.memory_encoder import MemoryEncoder

from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.sam2_model import LanguageSAM2

CONFIG = Sam2Config(image_size=256, embed_dim=8, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(3,),
                    window_spec=(8, 4, 4, 4), window_pos_embed_bkg_spatial_size=(4, 4), memory_attention_layers=2,
                    memory_attention_ffn=64, fuser_layers=1)


def _sam() -> LanguageSAM2:
    torch.manual_seed(0)
    return LanguageSAM2(CONFIG).eval()


def test_memory_attention_on_an_expanded_frame_equals_the_stock_module():
    sam, k, hw, d = _sam(), 3, CONFIG.feature_size**2, CONFIG.d_model
    frame = torch.randn(hw, 1, d).expand(hw, k, d)  # one frame for K objects, as the tracker hands it over
    frame_pos = torch.randn(hw, 1, d).expand(hw, k, d)
    n_ptr = 4
    memory = torch.randn(2 * hw + n_ptr, k, CONFIG.mem_dim)  # each object's own memories and pointers
    memory_pos = torch.randn(2 * hw + n_ptr, k, CONFIG.mem_dim)
    calls = []
    sam.memory_attention.layers[0].self_attn.register_forward_hook(lambda m, args, out: calls.append(out.shape[0]))
    with torch.no_grad():
        shared = sam.memory_attention([frame], memory, [frame_pos], memory_pos, num_obj_ptr_tokens=n_ptr)
        stock = MemoryAttention.forward(sam.memory_attention, [frame.contiguous()], memory, [frame_pos.contiguous()],
                                        memory_pos, num_obj_ptr_tokens=n_ptr)
    assert calls == [1, k]  # the shared path ran the first self-attention once, the stock one per object
    assert shared.shape == stock.shape == (hw, k, d)
    assert torch.allclose(shared, stock, atol=1e-5)
    assert not torch.allclose(shared[:, 0], shared[:, 1])  # objects still differ through their memories


def test_memory_encoder_on_an_expanded_frame_equals_the_stock_module():
    sam, k, side = _sam(), 3, CONFIG.feature_size
    frame = torch.randn(1, CONFIG.d_model, side, side).expand(k, -1, -1, -1)
    masks = torch.randn(k, 1, CONFIG.image_size, CONFIG.image_size)
    with torch.no_grad():
        shared = sam.memory_encoder(frame, masks)
        stock = MemoryEncoder.forward(sam.memory_encoder, frame.contiguous(), masks)
    assert torch.allclose(shared["vision_features"], stock["vision_features"], atol=1e-5)
    assert torch.allclose(shared["vision_pos_enc"][0], stock["vision_pos_enc"][0])
