"""SAM-2 over batches of frames (#24): the image encoder over several frames (of one clip or of several clips) and
the heads of frames prompted alone in one pass give what one frame at a time gives, up to float rounding; the
batches really hold several frames and cross clip boundaries; memory-mode clips still read their memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sa2va_engine.sam2_config import Sam2Config
from sa2va_engine.sam2_model import LanguageSAM2
from sa2va_engine.sam2_streams import FrameStream, run_streams
from sa2va_engine.sam2_tracker import StreamingTracker, encode_frames
from tests.agent_fixtures import one_torch_thread

# A SAM-2 small enough for a few seconds on a shared CPU (the mask decoder keeps its fixed width of 256).
CONFIG = Sam2Config(image_size=64, embed_dim=8, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(3,),
                    window_spec=(8, 4, 4, 4), window_pos_embed_bkg_spatial_size=(4, 4), memory_attention_layers=1,
                    memory_attention_ffn=64, fuser_layers=1)

TOLERANCE = dict(rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def _sam() -> LanguageSAM2:
    torch.manual_seed(0)
    return LanguageSAM2(CONFIG).eval()


def _frames(n: int, seed: int, shape=(40, 56)) -> list[np.ndarray]:
    rng = np.random.RandomState(seed)
    return [(rng.rand(*shape, 3) * 255).astype(np.uint8) for _ in range(n)]


def _prompts(k: int, seed: int) -> torch.Tensor:
    return torch.randn(k, 1, CONFIG.d_model, generator=torch.Generator().manual_seed(seed))


# (frames, K objects, key frames, prompted on every frame): a memory clip, two clips prompted on every frame (the
# second from its frame 1 on), a memory clip of other-sized frames that starts tracking at frame 2.
CLIPS = [(_frames(5, 1), 3, {0, 2}, False), (_frames(4, 2), 2, {0}, True), (_frames(3, 4), 1, {1}, True),
         (_frames(6, 3, (48, 32)), 1, {2, 3}, False)]

def _run(sam, frame_batch: int, clips=CLIPS) -> list[list]:
    """Each clip's results (low-res logits, scores, or None per frame) from one `run_streams` over all clips."""
    streams = [FrameStream(((float(i), f) for i, f in enumerate(frames)), StreamingTracker(sam, k, remember=not every),
                           _prompts(k, 10 + n), keys, every) for n, (frames, k, keys, every) in enumerate(clips)]
    out: list[list] = [[] for _ in clips]
    for n, _, size, result in run_streams(sam, streams, frame_batch, torch.inference_mode):
        assert size == clips[n][0][0].shape[:2]
        out[n].append(None if result is None else (result.low_res_logits, result.object_scores))
    return out


def test_the_image_encoder_over_a_batch_gives_each_frame_what_it_gives_alone():
    sam = _sam()
    frames = _frames(4, 7) + _frames(1, 8, (30, 70))  # sizes differ: each is resized to SAM-2's input first
    with torch.inference_mode():
        batched = encode_frames(sam, frames)
        alone = [encode_frames(sam, [f])[0] for f in frames]
    for b, a in zip(batched, alone):
        for x, y in zip(b.backbone_fpn + b.vision_pos_enc, a.backbone_fpn + a.vision_pos_enc):
            assert x.shape == y.shape and x.shape[0] == 1
            torch.testing.assert_close(x, y, **TOLERANCE)
    assert not torch.allclose(batched[0].backbone_fpn[-1], batched[1].backbone_fpn[-1])  # frames do differ


@pytest.mark.parametrize("frame_batch", [4, 16])
def test_frames_of_several_clips_in_batches_give_the_one_at_a_time_results(frame_batch):
    sam = _sam()
    batches: list[int] = []
    sam.image_encoder.register_forward_hook(lambda m, args, out: batches.append(args[0].shape[0]))
    one = _run(sam, 1)
    assert batches == [1] * 15  # 5 + 4 + 2 + 4 tracked frames
    batches.clear()
    heads: list[int] = []
    sam.sam_mask_decoder.register_forward_hook(lambda m, args, out: heads.append(out[0].shape[0]))
    batched = _run(sam, frame_batch)
    # Full batches across clip boundaries; the frames prompted alone share one pass of the heads, also the frames
    # of two clips (the third group: the second clip's last frame, 2 objects, and the third clip's two, 1 each).
    assert batches == ([4, 4, 4, 3] if frame_batch == 4 else [15])
    assert (2 + 1 + 1 in heads) if frame_batch == 4 else (4 * 2 + 2 * 1 in heads)
    for clip_one, clip_batched in zip(one, batched):
        assert len(clip_one) == len(clip_batched)
        for a, b in zip(clip_one, clip_batched):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(b[0], a[0], **TOLERANCE)
                torch.testing.assert_close(b[1], a[1], **TOLERANCE)
    assert one[2][0] is None and one[3][:2] == [None, None]  # not tracked before the first key frame
    # The comparison means something: frames and objects differ, and memory frames are not their key frame's.
    assert not torch.allclose(one[0][3][0], one[0][4][0]) and not torch.allclose(one[0][1][0][0], one[0][1][0][1])


def test_a_batch_of_one_is_the_one_frame_loop_exactly():
    """frame_batch=1 runs the tracker's own encode-then-step loop: identical tensors, not merely close."""
    sam = _sam()
    frames, k, keys, _ = CLIPS[0]
    (streamed,) = _run(sam, 1, clips=[CLIPS[0]])
    tracker = StreamingTracker(sam, k)
    with torch.inference_mode():
        loop = [tracker.step(i, tracker.encode(f), _prompts(k, 10) if i in keys else None) for i, f in enumerate(frames)]
    for (logits, scores), result in zip(streamed, loop):
        assert torch.equal(logits, result.low_res_logits) and torch.equal(scores, result.object_scores)


def test_a_bad_frame_batch_is_refused():
    with pytest.raises(ValueError, match="frame_batch"):
        list(run_streams(_sam(), [], 0, torch.inference_mode))
